/* This is a generated file, edit the .stub.php file instead.
 * Stub hash: 34c1a00d5ff95f77aebe7e375b8d0edf06c888f1 */

ZEND_BEGIN_ARG_INFO_EX(arginfo_class_Intent_Engine___construct, 0, 0, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, options, IS_ARRAY, 0, "[]")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_OBJ_INFO_EX(arginfo_class_Intent_Engine_shared, 0, 0, Intent\\Engine, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, options, IS_ARRAY, 0, "[]")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Intent_Engine_sharedCount, 0, 0, IS_LONG, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_Intent_Engine_releaseShared arginfo_class_Intent_Engine_sharedCount

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Intent_Engine_libraryVersion, 0, 0, IS_STRING, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_Intent_Engine_abiVersion arginfo_class_Intent_Engine_sharedCount

ZEND_BEGIN_ARG_WITH_RETURN_OBJ_INFO_EX(arginfo_class_Intent_Engine_classify, 0, 1, Intent\\Result, 0)
	ZEND_ARG_TYPE_INFO(0, query, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, options, IS_ARRAY, 0, "[]")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Intent_Engine_classifyBatch, 0, 1, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO(0, queries, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, options, IS_ARRAY, 0, "[]")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Intent_Engine_labels, 0, 0, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Intent_Engine_close, 0, 0, IS_VOID, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Intent_Engine_isClosed, 0, 0, _IS_BOOL, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_Intent_Engine_isShared arginfo_class_Intent_Engine_isClosed

ZEND_BEGIN_ARG_INFO_EX(arginfo_class_Intent_Result___construct, 0, 0, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_Intent_Result_toArray arginfo_class_Intent_Engine_labels

#define arginfo_class_Intent_Result_jsonSerialize arginfo_class_Intent_Engine_labels

#define arginfo_class_Intent_Exception_getStatusName arginfo_class_Intent_Engine_libraryVersion

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_Intent_Exception_describe, 0, 1, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, code, IS_LONG, 0)
ZEND_END_ARG_INFO()


ZEND_METHOD(Intent_Engine, __construct);
ZEND_METHOD(Intent_Engine, shared);
ZEND_METHOD(Intent_Engine, sharedCount);
ZEND_METHOD(Intent_Engine, releaseShared);
ZEND_METHOD(Intent_Engine, libraryVersion);
ZEND_METHOD(Intent_Engine, abiVersion);
ZEND_METHOD(Intent_Engine, classify);
ZEND_METHOD(Intent_Engine, classifyBatch);
ZEND_METHOD(Intent_Engine, labels);
ZEND_METHOD(Intent_Engine, close);
ZEND_METHOD(Intent_Engine, isClosed);
ZEND_METHOD(Intent_Engine, isShared);
ZEND_METHOD(Intent_Result, __construct);
ZEND_METHOD(Intent_Result, toArray);
ZEND_METHOD(Intent_Result, jsonSerialize);
ZEND_METHOD(Intent_Exception, getStatusName);
ZEND_METHOD(Intent_Exception, describe);


static const zend_function_entry class_Intent_Engine_methods[] = {
	ZEND_ME(Intent_Engine, __construct, arginfo_class_Intent_Engine___construct, ZEND_ACC_PUBLIC)
	ZEND_ME(Intent_Engine, shared, arginfo_class_Intent_Engine_shared, ZEND_ACC_PUBLIC|ZEND_ACC_STATIC)
	ZEND_ME(Intent_Engine, sharedCount, arginfo_class_Intent_Engine_sharedCount, ZEND_ACC_PUBLIC|ZEND_ACC_STATIC)
	ZEND_ME(Intent_Engine, releaseShared, arginfo_class_Intent_Engine_releaseShared, ZEND_ACC_PUBLIC|ZEND_ACC_STATIC)
	ZEND_ME(Intent_Engine, libraryVersion, arginfo_class_Intent_Engine_libraryVersion, ZEND_ACC_PUBLIC|ZEND_ACC_STATIC)
	ZEND_ME(Intent_Engine, abiVersion, arginfo_class_Intent_Engine_abiVersion, ZEND_ACC_PUBLIC|ZEND_ACC_STATIC)
	ZEND_ME(Intent_Engine, classify, arginfo_class_Intent_Engine_classify, ZEND_ACC_PUBLIC)
	ZEND_ME(Intent_Engine, classifyBatch, arginfo_class_Intent_Engine_classifyBatch, ZEND_ACC_PUBLIC)
	ZEND_ME(Intent_Engine, labels, arginfo_class_Intent_Engine_labels, ZEND_ACC_PUBLIC)
	ZEND_ME(Intent_Engine, close, arginfo_class_Intent_Engine_close, ZEND_ACC_PUBLIC)
	ZEND_ME(Intent_Engine, isClosed, arginfo_class_Intent_Engine_isClosed, ZEND_ACC_PUBLIC)
	ZEND_ME(Intent_Engine, isShared, arginfo_class_Intent_Engine_isShared, ZEND_ACC_PUBLIC)
	ZEND_FE_END
};


static const zend_function_entry class_Intent_Result_methods[] = {
	ZEND_ME(Intent_Result, __construct, arginfo_class_Intent_Result___construct, ZEND_ACC_PRIVATE)
	ZEND_ME(Intent_Result, toArray, arginfo_class_Intent_Result_toArray, ZEND_ACC_PUBLIC)
	ZEND_ME(Intent_Result, jsonSerialize, arginfo_class_Intent_Result_jsonSerialize, ZEND_ACC_PUBLIC)
	ZEND_FE_END
};


static const zend_function_entry class_Intent_Exception_methods[] = {
	ZEND_ME(Intent_Exception, getStatusName, arginfo_class_Intent_Exception_getStatusName, ZEND_ACC_PUBLIC)
	ZEND_ME(Intent_Exception, describe, arginfo_class_Intent_Exception_describe, ZEND_ACC_PUBLIC|ZEND_ACC_STATIC)
	ZEND_FE_END
};

static void register_intent_symbols(int module_number)
{
	REGISTER_STRING_CONSTANT("Intent\\VERSION", intent_version(), CONST_PERSISTENT);
}

static zend_class_entry *register_class_Intent_Engine(void)
{
	zend_class_entry ce, *class_entry;

	INIT_NS_CLASS_ENTRY(ce, "Intent", "Engine", class_Intent_Engine_methods);
	class_entry = zend_register_internal_class_ex(&ce, NULL);
	class_entry->ce_flags |= ZEND_ACC_FINAL|ZEND_ACC_NO_DYNAMIC_PROPERTIES|ZEND_ACC_NOT_SERIALIZABLE;

	zval const_BINDING_ABI_VERSION_value;
	ZVAL_LONG(&const_BINDING_ABI_VERSION_value, INTENT_ABI_VERSION);
	zend_string *const_BINDING_ABI_VERSION_name = zend_string_init_interned("BINDING_ABI_VERSION", sizeof("BINDING_ABI_VERSION") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_BINDING_ABI_VERSION_name, &const_BINDING_ABI_VERSION_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_BINDING_ABI_VERSION_name);

	zval const_MAX_BATCH_QUERIES_value;
	ZVAL_LONG(&const_MAX_BATCH_QUERIES_value, INTENT_MAX_BATCH_QUERIES);
	zend_string *const_MAX_BATCH_QUERIES_name = zend_string_init_interned("MAX_BATCH_QUERIES", sizeof("MAX_BATCH_QUERIES") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_MAX_BATCH_QUERIES_name, &const_MAX_BATCH_QUERIES_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_MAX_BATCH_QUERIES_name);

	zval const_MAX_LABELS_value;
	ZVAL_LONG(&const_MAX_LABELS_value, INTENT_MAX_LABELS);
	zend_string *const_MAX_LABELS_name = zend_string_init_interned("MAX_LABELS", sizeof("MAX_LABELS") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_MAX_LABELS_name, &const_MAX_LABELS_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_MAX_LABELS_name);

	return class_entry;
}

static zend_class_entry *register_class_Intent_Result(zend_class_entry *class_entry_JsonSerializable)
{
	zend_class_entry ce, *class_entry;

	INIT_NS_CLASS_ENTRY(ce, "Intent", "Result", class_Intent_Result_methods);
	class_entry = zend_register_internal_class_ex(&ce, NULL);
	class_entry->ce_flags |= ZEND_ACC_FINAL|ZEND_ACC_NO_DYNAMIC_PROPERTIES|ZEND_ACC_NOT_SERIALIZABLE;
	zend_class_implements(class_entry, 1, class_entry_JsonSerializable);

	zval property_intent_default_value;
	ZVAL_UNDEF(&property_intent_default_value);
	zend_string *property_intent_name = zend_string_init("intent", sizeof("intent") - 1, 1);
	zend_declare_typed_property(class_entry, property_intent_name, &property_intent_default_value, ZEND_ACC_PUBLIC|ZEND_ACC_READONLY, NULL, (zend_type) ZEND_TYPE_INIT_MASK(MAY_BE_STRING));
	zend_string_release(property_intent_name);

	zval property_confidence_default_value;
	ZVAL_UNDEF(&property_confidence_default_value);
	zend_string *property_confidence_name = zend_string_init("confidence", sizeof("confidence") - 1, 1);
	zend_declare_typed_property(class_entry, property_confidence_name, &property_confidence_default_value, ZEND_ACC_PUBLIC|ZEND_ACC_READONLY, NULL, (zend_type) ZEND_TYPE_INIT_MASK(MAY_BE_DOUBLE));
	zend_string_release(property_confidence_name);

	zval property_isFallback_default_value;
	ZVAL_UNDEF(&property_isFallback_default_value);
	zend_string *property_isFallback_name = zend_string_init("isFallback", sizeof("isFallback") - 1, 1);
	zend_declare_typed_property(class_entry, property_isFallback_name, &property_isFallback_default_value, ZEND_ACC_PUBLIC|ZEND_ACC_READONLY, NULL, (zend_type) ZEND_TYPE_INIT_MASK(MAY_BE_BOOL));
	zend_string_release(property_isFallback_name);

	zval property_top_default_value;
	ZVAL_UNDEF(&property_top_default_value);
	zend_string *property_top_name = zend_string_init("top", sizeof("top") - 1, 1);
	zend_declare_typed_property(class_entry, property_top_name, &property_top_default_value, ZEND_ACC_PUBLIC|ZEND_ACC_READONLY, NULL, (zend_type) ZEND_TYPE_INIT_MASK(MAY_BE_ARRAY));
	zend_string_release(property_top_name);

	zval property_timings_default_value;
	ZVAL_UNDEF(&property_timings_default_value);
	zend_string *property_timings_name = zend_string_init("timings", sizeof("timings") - 1, 1);
	zend_declare_typed_property(class_entry, property_timings_name, &property_timings_default_value, ZEND_ACC_PUBLIC|ZEND_ACC_READONLY, NULL, (zend_type) ZEND_TYPE_INIT_MASK(MAY_BE_ARRAY));
	zend_string_release(property_timings_name);

	zval property_queryTokens_default_value;
	ZVAL_UNDEF(&property_queryTokens_default_value);
	zend_string *property_queryTokens_name = zend_string_init("queryTokens", sizeof("queryTokens") - 1, 1);
	zend_declare_typed_property(class_entry, property_queryTokens_name, &property_queryTokens_default_value, ZEND_ACC_PUBLIC|ZEND_ACC_READONLY, NULL, (zend_type) ZEND_TYPE_INIT_MASK(MAY_BE_LONG));
	zend_string_release(property_queryTokens_name);

	zval property_truncated_default_value;
	ZVAL_UNDEF(&property_truncated_default_value);
	zend_string *property_truncated_name = zend_string_init("truncated", sizeof("truncated") - 1, 1);
	zend_declare_typed_property(class_entry, property_truncated_name, &property_truncated_default_value, ZEND_ACC_PUBLIC|ZEND_ACC_READONLY, NULL, (zend_type) ZEND_TYPE_INIT_MASK(MAY_BE_BOOL));
	zend_string_release(property_truncated_name);

	return class_entry;
}

static zend_class_entry *register_class_Intent_Exception(zend_class_entry *class_entry_RuntimeException)
{
	zend_class_entry ce, *class_entry;

	INIT_NS_CLASS_ENTRY(ce, "Intent", "Exception", class_Intent_Exception_methods);
	class_entry = zend_register_internal_class_ex(&ce, class_entry_RuntimeException);

	zval const_INVALID_ARGUMENT_value;
	ZVAL_LONG(&const_INVALID_ARGUMENT_value, INTENT_STATUS_INVALID_ARGUMENT);
	zend_string *const_INVALID_ARGUMENT_name = zend_string_init_interned("INVALID_ARGUMENT", sizeof("INVALID_ARGUMENT") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_INVALID_ARGUMENT_name, &const_INVALID_ARGUMENT_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_INVALID_ARGUMENT_name);

	zval const_INVALID_UTF8_value;
	ZVAL_LONG(&const_INVALID_UTF8_value, INTENT_STATUS_INVALID_UTF8);
	zend_string *const_INVALID_UTF8_name = zend_string_init_interned("INVALID_UTF8", sizeof("INVALID_UTF8") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_INVALID_UTF8_name, &const_INVALID_UTF8_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_INVALID_UTF8_name);

	zval const_EMPTY_QUERY_value;
	ZVAL_LONG(&const_EMPTY_QUERY_value, INTENT_STATUS_EMPTY_QUERY);
	zend_string *const_EMPTY_QUERY_name = zend_string_init_interned("EMPTY_QUERY", sizeof("EMPTY_QUERY") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_EMPTY_QUERY_name, &const_EMPTY_QUERY_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_EMPTY_QUERY_name);

	zval const_QUERY_TOO_LONG_value;
	ZVAL_LONG(&const_QUERY_TOO_LONG_value, INTENT_STATUS_QUERY_TOO_LONG);
	zend_string *const_QUERY_TOO_LONG_name = zend_string_init_interned("QUERY_TOO_LONG", sizeof("QUERY_TOO_LONG") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_QUERY_TOO_LONG_name, &const_QUERY_TOO_LONG_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_QUERY_TOO_LONG_name);

	zval const_UNKNOWN_LABEL_value;
	ZVAL_LONG(&const_UNKNOWN_LABEL_value, INTENT_STATUS_UNKNOWN_LABEL);
	zend_string *const_UNKNOWN_LABEL_name = zend_string_init_interned("UNKNOWN_LABEL", sizeof("UNKNOWN_LABEL") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_UNKNOWN_LABEL_name, &const_UNKNOWN_LABEL_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_UNKNOWN_LABEL_name);

	zval const_EMPTY_LABEL_SET_value;
	ZVAL_LONG(&const_EMPTY_LABEL_SET_value, INTENT_STATUS_EMPTY_LABEL_SET);
	zend_string *const_EMPTY_LABEL_SET_name = zend_string_init_interned("EMPTY_LABEL_SET", sizeof("EMPTY_LABEL_SET") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_EMPTY_LABEL_SET_name, &const_EMPTY_LABEL_SET_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_EMPTY_LABEL_SET_name);

	zval const_INVALID_TAXONOMY_value;
	ZVAL_LONG(&const_INVALID_TAXONOMY_value, INTENT_STATUS_INVALID_TAXONOMY);
	zend_string *const_INVALID_TAXONOMY_name = zend_string_init_interned("INVALID_TAXONOMY", sizeof("INVALID_TAXONOMY") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_INVALID_TAXONOMY_name, &const_INVALID_TAXONOMY_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_INVALID_TAXONOMY_name);

	zval const_MODEL_NOT_FOUND_value;
	ZVAL_LONG(&const_MODEL_NOT_FOUND_value, INTENT_STATUS_MODEL_NOT_FOUND);
	zend_string *const_MODEL_NOT_FOUND_name = zend_string_init_interned("MODEL_NOT_FOUND", sizeof("MODEL_NOT_FOUND") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_MODEL_NOT_FOUND_name, &const_MODEL_NOT_FOUND_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_MODEL_NOT_FOUND_name);

	zval const_INVALID_MODEL_value;
	ZVAL_LONG(&const_INVALID_MODEL_value, INTENT_STATUS_INVALID_MODEL);
	zend_string *const_INVALID_MODEL_name = zend_string_init_interned("INVALID_MODEL", sizeof("INVALID_MODEL") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_INVALID_MODEL_name, &const_INVALID_MODEL_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_INVALID_MODEL_name);

	zval const_UNSUPPORTED_MODEL_value;
	ZVAL_LONG(&const_UNSUPPORTED_MODEL_value, INTENT_STATUS_UNSUPPORTED_MODEL);
	zend_string *const_UNSUPPORTED_MODEL_name = zend_string_init_interned("UNSUPPORTED_MODEL", sizeof("UNSUPPORTED_MODEL") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_UNSUPPORTED_MODEL_name, &const_UNSUPPORTED_MODEL_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_UNSUPPORTED_MODEL_name);

	zval const_PLUGIN_NOT_FOUND_value;
	ZVAL_LONG(&const_PLUGIN_NOT_FOUND_value, INTENT_STATUS_PLUGIN_NOT_FOUND);
	zend_string *const_PLUGIN_NOT_FOUND_name = zend_string_init_interned("PLUGIN_NOT_FOUND", sizeof("PLUGIN_NOT_FOUND") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_PLUGIN_NOT_FOUND_name, &const_PLUGIN_NOT_FOUND_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_PLUGIN_NOT_FOUND_name);

	zval const_PLUGIN_ABI_MISMATCH_value;
	ZVAL_LONG(&const_PLUGIN_ABI_MISMATCH_value, INTENT_STATUS_PLUGIN_ABI_MISMATCH);
	zend_string *const_PLUGIN_ABI_MISMATCH_name = zend_string_init_interned("PLUGIN_ABI_MISMATCH", sizeof("PLUGIN_ABI_MISMATCH") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_PLUGIN_ABI_MISMATCH_name, &const_PLUGIN_ABI_MISMATCH_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_PLUGIN_ABI_MISMATCH_name);

	zval const_PLUGIN_UNAVAILABLE_value;
	ZVAL_LONG(&const_PLUGIN_UNAVAILABLE_value, INTENT_STATUS_PLUGIN_UNAVAILABLE);
	zend_string *const_PLUGIN_UNAVAILABLE_name = zend_string_init_interned("PLUGIN_UNAVAILABLE", sizeof("PLUGIN_UNAVAILABLE") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_PLUGIN_UNAVAILABLE_name, &const_PLUGIN_UNAVAILABLE_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_PLUGIN_UNAVAILABLE_name);

	zval const_BACKEND_value;
	ZVAL_LONG(&const_BACKEND_value, INTENT_STATUS_BACKEND);
	zend_string *const_BACKEND_name = zend_string_init_interned("BACKEND", sizeof("BACKEND") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_BACKEND_name, &const_BACKEND_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_BACKEND_name);

	zval const_OUT_OF_MEMORY_value;
	ZVAL_LONG(&const_OUT_OF_MEMORY_value, INTENT_STATUS_OUT_OF_MEMORY);
	zend_string *const_OUT_OF_MEMORY_name = zend_string_init_interned("OUT_OF_MEMORY", sizeof("OUT_OF_MEMORY") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_OUT_OF_MEMORY_name, &const_OUT_OF_MEMORY_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_OUT_OF_MEMORY_name);

	zval const_INTERNAL_value;
	ZVAL_LONG(&const_INTERNAL_value, INTENT_STATUS_INTERNAL);
	zend_string *const_INTERNAL_name = zend_string_init_interned("INTERNAL", sizeof("INTERNAL") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_INTERNAL_name, &const_INTERNAL_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_INTERNAL_name);

	zval const_IO_value;
	ZVAL_LONG(&const_IO_value, INTENT_STATUS_IO);
	zend_string *const_IO_name = zend_string_init_interned("IO", sizeof("IO") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_IO_name, &const_IO_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_IO_name);

	zval const_CLOSED_value;
	ZVAL_LONG(&const_CLOSED_value, INTENT_STATUS_CLOSED);
	zend_string *const_CLOSED_name = zend_string_init_interned("CLOSED", sizeof("CLOSED") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_CLOSED_name, &const_CLOSED_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_CLOSED_name);

	return class_entry;
}
