/*
 * JNI glue of the libintent Java binding (package dev.libintent, class IntentNative).
 *
 * Kept small on purpose: it converts arguments, makes one libintent call, and turns the
 * answer into Java objects. Policy (defaults, validation of Java-side options, locking,
 * closing) lives in Java.
 *
 * Rules followed throughout:
 * - Every C allocation and every JNI string/array borrowed is released on every path.
 * - Java strings cross as UTF-8 byte[] (String.getBytes(UTF_8) on the Java side), never
 *   through GetStringUTFChars (modified UTF-8), so invalid UTF-8 can reach the library
 *   on purpose. Strings from the library become Java strings through
 *   new String(byte[], UTF_8), which never fails on malformed input.
 * - After a failing libintent call, intent_last_error() is read at once, in the same
 *   native call and thread, and carried into the thrown IntentException.
 * - An exception is thrown only as the last JNI action before returning.
 * Compiled by scripts/test-java.sh against include/intent.h.
 */
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <intent.h>

/* Classes and methods looked up once at load time (global references). */
static jclass g_object_class;            /* java.lang.Object */
static jclass g_string_class;            /* java.lang.String */
static jmethodID g_string_from_bytes;    /* String(byte[], Charset) */
static jobject g_utf8;                   /* StandardCharsets.UTF_8 */
static jclass g_exception_class;         /* dev.libintent.IntentException */
static jmethodID g_exception_ctor;       /* IntentException(int, String) */
static jclass g_result_class;            /* dev.libintent.ClassificationResult */
static jmethodID g_result_ctor;          /* see RESULT_CTOR_SIG */

#define RESULT_CTOR_SIG "(Ljava/lang/String;FZ[Ljava/lang/String;[F[JJZ)V"

/* ---- small helpers -------------------------------------------------------------- */

static void throw_new(JNIEnv *env, const char *class_name, const char *msg) {
    jclass cls = (*env)->FindClass(env, class_name);
    if (cls != NULL) {
        (*env)->ThrowNew(env, cls, msg);
        (*env)->DeleteLocalRef(env, cls);
    } /* else FindClass has already thrown NoClassDefFoundError */
}

static void throw_oom(JNIEnv *env, const char *what) {
    throw_new(env, "java/lang/OutOfMemoryError", what);
}

/* A Java String from NUL-terminated UTF-8 (NULL gives NULL without an exception).
 * Returns NULL with an exception pending on failure. */
static jstring utf8_to_jstring(JNIEnv *env, const char *s) {
    if (s == NULL) return NULL;
    size_t len = strlen(s);
    if (len > (size_t)INT32_MAX) {
        throw_oom(env, "libintent string too long for Java");
        return NULL;
    }
    jbyteArray bytes = (*env)->NewByteArray(env, (jsize)len);
    if (bytes == NULL) return NULL;
    (*env)->SetByteArrayRegion(env, bytes, 0, (jsize)len, (const jbyte *)s);
    jstring str = (jstring)(*env)->NewObject(env, g_string_class, g_string_from_bytes, bytes, g_utf8);
    (*env)->DeleteLocalRef(env, bytes);
    return str;
}

/* A new IntentException(code, message), not thrown. NULL with an exception pending on failure. */
static jobject new_intent_exception(JNIEnv *env, int32_t code, const char *msg) {
    jstring jmsg = utf8_to_jstring(env, msg != NULL ? msg : "");
    if (jmsg == NULL) return NULL;
    jobject ex = (*env)->NewObject(env, g_exception_class, g_exception_ctor, (jint)code, jmsg);
    (*env)->DeleteLocalRef(env, jmsg);
    return ex;
}

/* Throws IntentException(code, msg); msg is copied before anything else runs. */
static void throw_intent(JNIEnv *env, int32_t code, const char *msg) {
    jobject ex = new_intent_exception(env, code, msg);
    if (ex == NULL) return; /* an exception (OOM) is already pending */
    (*env)->Throw(env, (jthrowable)ex);
    (*env)->DeleteLocalRef(env, ex);
}

/* Throws the IntentException for a libintent failure: reads this thread's
 * intent_last_error() immediately, before any other libintent call. */
static void throw_last_error(JNIEnv *env, int32_t status) {
    throw_intent(env, status, intent_last_error());
}

/* Copies a byte[] into a fresh malloc block with a NUL after it (the block is never NULL
 * on success, also for length 0). Returns NULL with an exception pending on failure. */
static char *copy_bytes(JNIEnv *env, jbyteArray arr, size_t *len_out) {
    jsize len = (*env)->GetArrayLength(env, arr);
    char *buf = (char *)malloc((size_t)len + 1);
    if (buf == NULL) {
        throw_oom(env, "libintent JNI: malloc failed");
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, arr, 0, len, (jbyte *)buf);
    buf[len] = '\0';
    if (len_out != NULL) *len_out = (size_t)len;
    return buf;
}

/* A NUL-terminated C string from a byte[] that may be NULL (meaning NULL, the library's
 * default). *ok is cleared, with an exception pending, on failure. */
static char *optional_cstring(JNIEnv *env, jbyteArray arr, int *ok) {
    if (arr == NULL) return NULL;
    char *s = copy_bytes(env, arr, NULL);
    if (s == NULL) *ok = 0;
    return s;
}

/* An array of intent_str followed by the bytes of all strings, in one malloc block to
 * free with free(). Every ptr is non-NULL. arr is a byte[][] whose elements must not be
 * NULL. Returns NULL with an exception pending on failure (*n_out untouched). */
static intent_str *copy_str_array(JNIEnv *env, jobjectArray arr, size_t *n_out) {
    jsize n = (*env)->GetArrayLength(env, arr);
    size_t total = 0;
    for (jsize i = 0; i < n; i++) {
        jobject el = (*env)->GetObjectArrayElement(env, arr, i);
        if (el == NULL) {
            if (!(*env)->ExceptionCheck(env))
                throw_new(env, "java/lang/NullPointerException", "null string in an array of queries or labels");
            return NULL;
        }
        total += (size_t)(*env)->GetArrayLength(env, (jbyteArray)el);
        (*env)->DeleteLocalRef(env, el);
    }
    size_t head = (size_t)n * sizeof(intent_str);
    char *block = (char *)malloc(head + total + 1);
    if (block == NULL) {
        throw_oom(env, "libintent JNI: malloc failed");
        return NULL;
    }
    intent_str *strs = (intent_str *)block;
    char *data = block + head;
    size_t off = 0;
    for (jsize i = 0; i < n; i++) {
        jbyteArray el = (jbyteArray)(*env)->GetObjectArrayElement(env, arr, i);
        if (el == NULL) { /* changed by another thread since the first pass */
            if (!(*env)->ExceptionCheck(env))
                throw_new(env, "java/lang/NullPointerException", "null string in an array of queries or labels");
            free(block);
            return NULL;
        }
        jsize len = (*env)->GetArrayLength(env, el);
        if ((size_t)len > total - off) { /* grew since the first pass */
            (*env)->DeleteLocalRef(env, el);
            free(block);
            throw_new(env, "java/util/ConcurrentModificationException", "array changed during the call");
            return NULL;
        }
        (*env)->GetByteArrayRegion(env, el, 0, len, (jbyte *)(data + off));
        (*env)->DeleteLocalRef(env, el);
        strs[i].ptr = data + off;
        strs[i].len = (size_t)len;
        off += (size_t)len;
    }
    data[off] = '\0';
    *n_out = (size_t)n;
    return strs;
}

/* Fills params from the Java arguments. labels NULL: all labels; otherwise a non-NULL
 * array even when empty (so that an empty list is EMPTY_LABEL_SET, not "all labels").
 * *block receives the labels' allocation (free it). Returns 0 with an exception pending
 * on failure. */
static int fill_classify_params(JNIEnv *env, intent_classify_params *p, jobjectArray labels,
                                jint top_k, jfloat threshold, void **block) {
    *block = NULL;
    int32_t st = intent_classify_params_init(p, sizeof *p);
    if (st != INTENT_STATUS_OK) {
        throw_last_error(env, st);
        return 0;
    }
    p->top_k = top_k > 0 ? (uint32_t)top_k : 0;
    p->threshold = threshold;
    if (labels != NULL) {
        size_t n = 0;
        intent_str *strs = copy_str_array(env, labels, &n);
        if (strs == NULL) return 0;
        *block = strs;
        p->labels = strs;
        p->n_labels = n;
    }
    return 1;
}

/* Builds a ClassificationResult from a live result (still owned by the caller).
 * Returns NULL with an exception pending on failure. */
static jobject make_result(JNIEnv *env, const intent_result *r) {
    jobject out = NULL;
    jstring intent = NULL;
    jobjectArray top_labels = NULL;
    jfloatArray top_probs = NULL;
    jlongArray timings = NULL;
    float *probs = NULL;

    size_t n = intent_result_top_count(r);
    if (n > (size_t)INT32_MAX) n = (size_t)INT32_MAX;
    intent = utf8_to_jstring(env, intent_result_intent(r));
    if (intent == NULL) {
        if (!(*env)->ExceptionCheck(env)) throw_intent(env, INTENT_STATUS_INTERNAL, "result has no intent");
        goto done;
    }
    top_labels = (*env)->NewObjectArray(env, (jsize)n, g_string_class, NULL);
    if (top_labels == NULL) goto done;
    probs = (float *)malloc((n > 0 ? n : 1) * sizeof(float));
    if (probs == NULL) {
        throw_oom(env, "libintent JNI: malloc failed");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *label = NULL;
        float prob = 0.0f;
        int32_t st = intent_result_top(r, i, &label, &prob);
        if (st != INTENT_STATUS_OK) {
            throw_last_error(env, st);
            goto done;
        }
        jstring jl = utf8_to_jstring(env, label != NULL ? label : "");
        if (jl == NULL) goto done;
        (*env)->SetObjectArrayElement(env, top_labels, (jsize)i, jl);
        (*env)->DeleteLocalRef(env, jl);
        probs[i] = prob;
    }
    top_probs = (*env)->NewFloatArray(env, (jsize)n);
    if (top_probs == NULL) goto done;
    (*env)->SetFloatArrayRegion(env, top_probs, 0, (jsize)n, probs);

    intent_timings t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    int32_t st = intent_result_timings(r, &t);
    if (st != INTENT_STATUS_OK) {
        throw_last_error(env, st);
        goto done;
    }
    jlong tv[5] = {(jlong)t.tokenize_us, (jlong)t.queue_us, (jlong)t.eval_us, (jlong)t.total_us,
                   (jlong)t.batch_size};
    timings = (*env)->NewLongArray(env, 5);
    if (timings == NULL) goto done;
    (*env)->SetLongArrayRegion(env, timings, 0, 5, tv);

    out = (*env)->NewObject(env, g_result_class, g_result_ctor, intent,
                            (jfloat)intent_result_confidence(r),
                            (jboolean)(intent_result_is_fallback(r) != 0), top_labels, top_probs,
                            timings, (jlong)intent_result_query_tokens(r),
                            (jboolean)(intent_result_is_truncated(r) != 0));
done:
    free(probs);
    if (intent != NULL) (*env)->DeleteLocalRef(env, intent);
    if (top_labels != NULL) (*env)->DeleteLocalRef(env, top_labels);
    if (top_probs != NULL) (*env)->DeleteLocalRef(env, top_probs);
    if (timings != NULL) (*env)->DeleteLocalRef(env, timings);
    return out;
}

static intent_engine *engine_of(JNIEnv *env, jlong handle) {
    intent_engine *e = (intent_engine *)(intptr_t)handle;
    if (e == NULL) throw_new(env, "java/lang/IllegalStateException", "the engine is closed");
    return e;
}

/* ---- load-time lookups ---------------------------------------------------------- */

static jclass global_class(JNIEnv *env, const char *name) {
    jclass local = (*env)->FindClass(env, name);
    if (local == NULL) return NULL;
    jclass global = (jclass)(*env)->NewGlobalRef(env, local);
    (*env)->DeleteLocalRef(env, local);
    return global;
}

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved) {
    (void)reserved;
    JNIEnv *env = NULL;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK) return JNI_ERR;

    if ((g_object_class = global_class(env, "java/lang/Object")) == NULL) return JNI_ERR;
    if ((g_string_class = global_class(env, "java/lang/String")) == NULL) return JNI_ERR;
    g_string_from_bytes = (*env)->GetMethodID(env, g_string_class, "<init>", "([BLjava/nio/charset/Charset;)V");
    if (g_string_from_bytes == NULL) return JNI_ERR;

    jclass charsets = (*env)->FindClass(env, "java/nio/charset/StandardCharsets");
    if (charsets == NULL) return JNI_ERR;
    jfieldID utf8_field = (*env)->GetStaticFieldID(env, charsets, "UTF_8", "Ljava/nio/charset/Charset;");
    if (utf8_field == NULL) return JNI_ERR;
    jobject utf8 = (*env)->GetStaticObjectField(env, charsets, utf8_field);
    (*env)->DeleteLocalRef(env, charsets);
    if (utf8 == NULL) return JNI_ERR;
    g_utf8 = (*env)->NewGlobalRef(env, utf8);
    (*env)->DeleteLocalRef(env, utf8);
    if (g_utf8 == NULL) return JNI_ERR;

    if ((g_exception_class = global_class(env, "dev/libintent/IntentException")) == NULL) return JNI_ERR;
    g_exception_ctor = (*env)->GetMethodID(env, g_exception_class, "<init>", "(ILjava/lang/String;)V");
    if (g_exception_ctor == NULL) return JNI_ERR;

    if ((g_result_class = global_class(env, "dev/libintent/ClassificationResult")) == NULL) return JNI_ERR;
    g_result_ctor = (*env)->GetMethodID(env, g_result_class, "<init>", RESULT_CTOR_SIG);
    if (g_result_ctor == NULL) return JNI_ERR;

    return JNI_VERSION_1_8;
}

JNIEXPORT void JNICALL JNI_OnUnload(JavaVM *vm, void *reserved) {
    (void)reserved;
    JNIEnv *env = NULL;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK) return;
    if (g_object_class) (*env)->DeleteGlobalRef(env, g_object_class);
    if (g_string_class) (*env)->DeleteGlobalRef(env, g_string_class);
    if (g_utf8) (*env)->DeleteGlobalRef(env, g_utf8);
    if (g_exception_class) (*env)->DeleteGlobalRef(env, g_exception_class);
    if (g_result_class) (*env)->DeleteGlobalRef(env, g_result_class);
    g_object_class = g_string_class = g_exception_class = g_result_class = NULL;
    g_utf8 = NULL;
}

/* ---- natives of dev.libintent.IntentNative -------------------------------------- */

JNIEXPORT jint JNICALL Java_dev_libintent_IntentNative_abiVersion(JNIEnv *env, jclass cls) {
    (void)env; (void)cls;
    return (jint)intent_abi_version();
}

JNIEXPORT jint JNICALL Java_dev_libintent_IntentNative_headerAbiVersion(JNIEnv *env, jclass cls) {
    (void)env; (void)cls;
    return (jint)INTENT_ABI_VERSION;
}

JNIEXPORT jstring JNICALL Java_dev_libintent_IntentNative_version(JNIEnv *env, jclass cls) {
    (void)cls;
    return utf8_to_jstring(env, intent_version());
}

JNIEXPORT jstring JNICALL Java_dev_libintent_IntentNative_statusText(JNIEnv *env, jclass cls, jint code) {
    (void)cls;
    return utf8_to_jstring(env, intent_status_str((int32_t)code));
}

/* Opens an engine. String arguments are NUL-free UTF-8 byte[] or NULL (the default).
 * Numeric arguments are used only where their bit in set_mask is set (see IntentNative). */
JNIEXPORT jlong JNICALL Java_dev_libintent_IntentNative_engineOpen(
    JNIEnv *env, jclass cls, jbyteArray backend, jbyteArray model, jbyteArray taxonomy,
    jbyteArray plugin_path, jint set_mask, jint threads, jint top_k, jfloat threshold,
    jint max_query_tokens, jboolean truncate, jint max_batch, jint max_parallel) {
    (void)cls;
    intent_engine_params p;
    int32_t st = intent_engine_params_init(&p, sizeof p);
    if (st != INTENT_STATUS_OK) {
        throw_last_error(env, st);
        return 0;
    }
    if (set_mask & 0x01) p.n_threads = (int32_t)threads;
    if (set_mask & 0x02) p.top_k = (uint32_t)top_k;
    if (set_mask & 0x04) p.threshold = (float)threshold;
    if (set_mask & 0x08) p.max_query_tokens = (uint32_t)max_query_tokens;
    if (set_mask & 0x10) p.truncate = truncate ? 1 : 0;
    if (set_mask & 0x20) p.max_batch = (uint32_t)max_batch;
    if (set_mask & 0x40) p.max_parallel = (uint32_t)max_parallel;

    int ok = 1;
    char *c_backend = optional_cstring(env, backend, &ok);
    char *c_model = ok ? optional_cstring(env, model, &ok) : NULL;
    char *c_taxonomy = ok ? optional_cstring(env, taxonomy, &ok) : NULL;
    char *c_plugin = ok ? optional_cstring(env, plugin_path, &ok) : NULL;
    intent_engine *engine = NULL;
    if (ok) {
        p.backend = c_backend;
        p.model_path = c_model;
        p.taxonomy = c_taxonomy;
        p.plugin_path = c_plugin;
        st = intent_engine_new(&p, &engine);
        if (st != INTENT_STATUS_OK) {
            throw_last_error(env, st); /* copies the message before the frees below */
            engine = NULL;
        } else if (engine == NULL) {
            throw_intent(env, INTENT_STATUS_INTERNAL, "intent_engine_new succeeded without an engine");
        }
    }
    free(c_backend);
    free(c_model);
    free(c_taxonomy);
    free(c_plugin);
    return (jlong)(intptr_t)engine;
}

JNIEXPORT void JNICALL Java_dev_libintent_IntentNative_engineFree(JNIEnv *env, jclass cls, jlong handle) {
    (void)env; (void)cls;
    intent_engine_free((intent_engine *)(intptr_t)handle); /* NULL is a no-op */
}

JNIEXPORT jobjectArray JNICALL Java_dev_libintent_IntentNative_labels(JNIEnv *env, jclass cls, jlong handle) {
    (void)cls;
    const intent_engine *e = engine_of(env, handle);
    if (e == NULL) return NULL;
    size_t n = intent_engine_label_count(e);
    if (n > (size_t)INT32_MAX) n = (size_t)INT32_MAX;
    jobjectArray out = (*env)->NewObjectArray(env, (jsize)n, g_string_class, NULL);
    if (out == NULL) return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *label = intent_engine_label(e, i);
        if (label == NULL) {
            (*env)->DeleteLocalRef(env, out);
            throw_intent(env, INTENT_STATUS_INTERNAL, "intent_engine_label returned NULL within the label count");
            return NULL;
        }
        jstring jl = utf8_to_jstring(env, label);
        if (jl == NULL) {
            (*env)->DeleteLocalRef(env, out);
            return NULL;
        }
        (*env)->SetObjectArrayElement(env, out, (jsize)i, jl);
        (*env)->DeleteLocalRef(env, jl);
    }
    return out;
}

/* Classifies one query (UTF-8 bytes). has_params false: library defaults (NULL params).
 * Otherwise labels (NULL: all), top_k (0: engine's), threshold (negative: engine's). */
JNIEXPORT jobject JNICALL Java_dev_libintent_IntentNative_classify(
    JNIEnv *env, jclass cls, jlong handle, jbyteArray text, jboolean has_params,
    jobjectArray labels, jint top_k, jfloat threshold) {
    (void)cls;
    const intent_engine *e = engine_of(env, handle);
    if (e == NULL) return NULL;
    if (text == NULL) {
        throw_new(env, "java/lang/NullPointerException", "text is null");
        return NULL;
    }
    intent_classify_params p;
    void *label_block = NULL;
    if (has_params && !fill_classify_params(env, &p, labels, top_k, threshold, &label_block))
        return NULL;
    size_t len = 0;
    char *ctext = copy_bytes(env, text, &len);
    if (ctext == NULL) {
        free(label_block);
        return NULL;
    }
    intent_result *r = NULL;
    int32_t st = intent_classify(e, ctext, len, has_params ? &p : NULL, &r);
    jobject out = NULL;
    if (st != INTENT_STATUS_OK) {
        throw_last_error(env, st);
    } else if (r == NULL) {
        throw_intent(env, INTENT_STATUS_INTERNAL, "intent_classify succeeded without a result");
    } else {
        out = make_result(env, r);
    }
    intent_result_free(r);
    free(ctext);
    free(label_block);
    return out;
}

/* Classifies queries together. Returns one element per query: a ClassificationResult,
 * or an IntentException (not thrown) for a query the library refused. A failure of
 * the whole call is thrown. */
JNIEXPORT jobjectArray JNICALL Java_dev_libintent_IntentNative_classifyBatch(
    JNIEnv *env, jclass cls, jlong handle, jobjectArray texts, jboolean has_params,
    jobjectArray labels, jint top_k, jfloat threshold) {
    (void)cls;
    const intent_engine *e = engine_of(env, handle);
    if (e == NULL) return NULL;
    if (texts == NULL) {
        throw_new(env, "java/lang/NullPointerException", "texts is null");
        return NULL;
    }
    intent_classify_params p;
    void *label_block = NULL;
    if (has_params && !fill_classify_params(env, &p, labels, top_k, threshold, &label_block))
        return NULL;
    size_t n = 0;
    intent_str *strs = copy_str_array(env, texts, &n);
    if (strs == NULL) {
        free(label_block);
        return NULL;
    }
    intent_batch *b = NULL;
    jobjectArray out = NULL;
    int32_t st = intent_classify_batch(e, strs, n, has_params ? &p : NULL, &b);
    if (st != INTENT_STATUS_OK) {
        throw_last_error(env, st);
        goto done;
    }
    if (b == NULL || intent_batch_count(b) != n) {
        throw_intent(env, INTENT_STATUS_INTERNAL, "the library answered a different number of queries than were asked");
        goto done;
    }
    out = (*env)->NewObjectArray(env, (jsize)n, g_object_class, NULL);
    if (out == NULL) goto done;
    for (size_t i = 0; i < n; i++) {
        /* A frame per item: a batch may hold 65536 queries, far over the local-ref capacity. */
        if ((*env)->PushLocalFrame(env, 16) != 0) goto fail;
        jobject item;
        int32_t ist = intent_batch_status(b, i);
        if (ist != INTENT_STATUS_OK) {
            item = new_intent_exception(env, ist, intent_batch_error(b, i));
        } else {
            const intent_result *r = intent_batch_result(b, i);
            if (r == NULL)
                item = new_intent_exception(env, INTENT_STATUS_INTERNAL, "the library reported success without a result");
            else
                item = make_result(env, r);
        }
        if (item == NULL) {
            /* A JNI failure (or a result accessor failing): give up on the whole batch. */
            (*env)->PopLocalFrame(env, NULL);
            goto fail;
        }
        item = (*env)->PopLocalFrame(env, item);
        (*env)->SetObjectArrayElement(env, out, (jsize)i, item);
        (*env)->DeleteLocalRef(env, item);
    }
    goto done;
fail:
    (*env)->DeleteLocalRef(env, out);
    out = NULL;
done:
    intent_batch_free(b);
    free(strs);
    free(label_block);
    return out;
}
