/*
 * The intent extension: PHP binding of libintent's C API (include/intent.h).
 *
 * Classes (see intent.stub.php for the API and its documentation):
 *   Intent\Engine     an open engine; wraps a refcounted native engine (php_intent_native)
 *   Intent\Result     plain read-only data copied from an intent_result
 *   Intent\Exception  a library failure: getCode() is the INTENT_STATUS_* code
 *
 * Rules followed throughout:
 * - Strings go to the library as (pointer, length) borrowed from the PHP strings, byte for
 *   byte: the library validates UTF-8, emptiness and length. Strings that the library wants
 *   NUL-terminated (paths, names) are refused when they hold a NUL byte.
 * - After a failing libintent call, intent_last_error() is read before any other libintent
 *   call (it is per thread and valid until the thread's next libintent call).
 * - Every intent_result and intent_batch is freed with its own free function on every path;
 *   strings from accessors are borrowed and copied into PHP strings at once.
 * - A native engine may outlive a request (Engine::shared()), so it lives in persistent
 *   memory with a reference count: one per Engine object using it, one for the cache.
 * - Return values are built in locals and handed over only on success, so that nothing half
 *   built is left behind when an exception is thrown.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "php.h"
#include "ext/standard/info.h"
#include "zend_exceptions.h"
#include "zend_smart_str.h"
#include "ext/json/php_json.h"
#include "ext/spl/spl_exceptions.h"

#include "php_intent.h"
#include "intent_arginfo.h"

static zend_class_entry *intent_engine_ce;
static zend_class_entry *intent_result_ce;
static zend_class_entry *intent_exception_ce;

static zend_object_handlers intent_engine_handlers;
static zend_object_handlers intent_result_handlers;

/* Names of the status codes as in intent.h without the "INTENT_STATUS_" prefix. */
static const char *const status_names[] = {
    "OK", "INVALID_ARGUMENT", "INVALID_UTF8", "EMPTY_QUERY", "QUERY_TOO_LONG",
    "UNKNOWN_LABEL", "EMPTY_LABEL_SET", "INVALID_TAXONOMY", "MODEL_NOT_FOUND",
    "INVALID_MODEL", "UNSUPPORTED_MODEL", "PLUGIN_NOT_FOUND", "PLUGIN_ABI_MISMATCH",
    "PLUGIN_UNAVAILABLE", "BACKEND", "OUT_OF_MEMORY", "INTERNAL", "IO", "CLOSED",
};
_Static_assert(sizeof(status_names) / sizeof(status_names[0]) == INTENT_STATUS_CLOSED + 1,
               "status_names must list every INTENT_STATUS_* code");

/* ---- native engines, shared by Engine objects and the process cache -------------------- */

typedef struct php_intent_native {
    intent_engine *engine;
    uint32_t refs;   /* Engine objects using it, plus one while in the shared cache */
    pid_t pid;       /* the process that opened it (an engine is not used across fork) */
} php_intent_native;

typedef struct php_intent_engine_obj {
    php_intent_native *native; /* NULL before the constructor succeeds and after close() */
    bool constructed;          /* the constructor ran (successfully or not) */
    bool shared;               /* made by Engine::shared() */
    zend_object std;
} php_intent_engine_obj;

/* Engine::shared()'s cache: canonical options key -> php_intent_native * (persistent).
 * A process-wide table: under ZTS the lock guards it and every reference count. */
static HashTable shared_engines;
static bool shared_engines_ready;
#ifdef ZTS
static MUTEX_T intent_lock;
#define INTENT_LOCK() tsrm_mutex_lock(intent_lock)
#define INTENT_UNLOCK() tsrm_mutex_unlock(intent_lock)
#else
#define INTENT_LOCK() ((void)0)
#define INTENT_UNLOCK() ((void)0)
#endif

static php_intent_native *native_new(intent_engine *engine) {
    php_intent_native *n = pemalloc(sizeof *n, 1);
    n->engine = engine;
    n->refs = 1;
    n->pid = getpid();
    return n;
}

/* Drops one reference; the last one frees the engine. An engine opened by another process
 * (inherited across fork) is not freed here: its threads and state belong to the parent. */
static void native_release(php_intent_native *n) {
    INTENT_LOCK();
    uint32_t left = --n->refs;
    INTENT_UNLOCK();
    if (left == 0) {
        if (n->pid == getpid()) {
            intent_engine_free(n->engine);
        }
        pefree(n, 1);
    }
}

/* Releases the cache's reference of every engine in a table taken out of use, then
 * destroys the table. (The table has no destructor: entries are released explicitly,
 * outside the lock.) */
static void shared_table_release(HashTable *table) {
    php_intent_native *n;
    ZEND_HASH_FOREACH_PTR(table, n) {
        native_release(n);
    } ZEND_HASH_FOREACH_END();
    zend_hash_destroy(table);
}

static inline php_intent_engine_obj *engine_from_obj(zend_object *obj) {
    return (php_intent_engine_obj *)((char *)obj - XtOffsetOf(php_intent_engine_obj, std));
}

/* ---- errors ------------------------------------------------------------------------- */

/* Throws Intent\Exception(message, code). */
static void throw_intent(int32_t code, const char *message) {
    zend_throw_exception(intent_exception_ce, message != NULL ? message : "", (zend_long)code);
}

/* Throws the Intent\Exception for a failed libintent call; call it right after the call. */
static void throw_last_error(int32_t status) {
    throw_intent(status, intent_last_error());
}

/* An Intent\Exception in *out, not thrown (for a failed query of a batch). */
static void make_exception(zval *out, int32_t code, const char *message) {
    object_init_ex(out, intent_exception_ce);
    zend_update_property_string(zend_ce_exception, Z_OBJ_P(out), "message", sizeof("message") - 1,
                                message != NULL ? message : "");
    zend_update_property_long(zend_ce_exception, Z_OBJ_P(out), "code", sizeof("code") - 1,
                              (zend_long)code);
}

/* The engine of $this, or NULL with an Intent\Exception (CLOSED) thrown: when the object
 * is closed, or when the engine was opened by another process and inherited across fork()
 * (its evaluation threads exist only in the parent: using it could hang). */
static const intent_engine *this_engine(zval *this_zv) {
    php_intent_engine_obj *o = engine_from_obj(Z_OBJ_P(this_zv));
    if (o->native == NULL) {
        throw_intent(INTENT_STATUS_CLOSED, o->constructed ? "the engine is closed"
                                                          : "the engine was never opened");
        return NULL;
    }
    if (o->native->pid != getpid()) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "the engine was opened by process %ld and cannot be used after fork(): "
                 "open one in this process (%ld)", (long)o->native->pid, (long)getpid());
        throw_intent(INTENT_STATUS_CLOSED, msg);
        return NULL;
    }
    return o->native->engine;
}

/* ---- engine options ------------------------------------------------------------------ */

typedef enum { OPT_STRING, OPT_INT32, OPT_UINT32, OPT_FLOAT, OPT_BOOL } option_kind;

typedef struct engine_option {
    const char *name;
    option_kind kind;
    size_t offset; /* of the field in intent_engine_params */
    bool is_path;  /* a string relative to the current directory when not absolute */
} engine_option;

static const engine_option engine_options[] = {
    {"backend", OPT_STRING, offsetof(intent_engine_params, backend), false},
    {"model", OPT_STRING, offsetof(intent_engine_params, model_path), true},
    {"taxonomy", OPT_STRING, offsetof(intent_engine_params, taxonomy), true},
    {"plugin_path", OPT_STRING, offsetof(intent_engine_params, plugin_path), true},
    {"threads", OPT_INT32, offsetof(intent_engine_params, n_threads), false},
    {"top_k", OPT_UINT32, offsetof(intent_engine_params, top_k), false},
    {"threshold", OPT_FLOAT, offsetof(intent_engine_params, threshold), false},
    {"max_query_tokens", OPT_UINT32, offsetof(intent_engine_params, max_query_tokens), false},
    {"truncate", OPT_BOOL, offsetof(intent_engine_params, truncate), false},
    {"use_mmap", OPT_BOOL, offsetof(intent_engine_params, use_mmap), false},
    {"max_batch", OPT_UINT32, offsetof(intent_engine_params, max_batch), false},
    {"max_parallel", OPT_UINT32, offsetof(intent_engine_params, max_parallel), false},
    {"device", OPT_INT32, offsetof(intent_engine_params, device), false},
};
#define N_ENGINE_OPTIONS (sizeof(engine_options) / sizeof(engine_options[0]))

static const char engine_option_names[] =
    "backend, model, taxonomy, plugin_path, threads, top_k, threshold, max_query_tokens, "
    "truncate, use_mmap, max_batch, max_parallel, device";

/* A string option must be NUL-free: the library reads it as a C string. */
static bool string_option(zval *v, const char *name, uint32_t arg, const char **out) {
    if (Z_TYPE_P(v) != IS_STRING) {
        zend_argument_type_error(arg, "option \"%s\" must be of type ?string, %s given", name,
                                 zend_zval_type_name(v));
        return false;
    }
    if (memchr(Z_STRVAL_P(v), '\0', Z_STRLEN_P(v)) != NULL) {
        zend_argument_value_error(arg, "option \"%s\" must not contain any null bytes", name);
        return false;
    }
    *out = Z_STRVAL_P(v);
    return true;
}

static bool long_option(zval *v, const char *name, uint32_t arg, zend_long min, zend_long max,
                        zend_long *out) {
    if (Z_TYPE_P(v) != IS_LONG) {
        zend_argument_type_error(arg, "option \"%s\" must be of type ?int, %s given", name,
                                 zend_zval_type_name(v));
        return false;
    }
    if (Z_LVAL_P(v) < min || Z_LVAL_P(v) > max) {
        zend_argument_value_error(arg, "option \"%s\" must be between " ZEND_LONG_FMT
                                  " and " ZEND_LONG_FMT, name, min, max);
        return false;
    }
    *out = Z_LVAL_P(v);
    return true;
}

static bool float_option(zval *v, const char *name, uint32_t arg, double *out) {
    if (Z_TYPE_P(v) == IS_LONG) {
        *out = (double)Z_LVAL_P(v);
    } else if (Z_TYPE_P(v) == IS_DOUBLE) {
        *out = Z_DVAL_P(v);
    } else {
        zend_argument_type_error(arg, "option \"%s\" must be of type ?float, %s given", name,
                                 zend_zval_type_name(v));
        return false;
    }
    return true;
}

/* Fills p (already initialised) from the options array. The strings stay borrowed from
 * the array. When key is not NULL, appends a canonical form of the options to it (for
 * Engine::shared()): equal keys mean equal engines. Returns false with an exception thrown. */
static bool parse_engine_options(HashTable *opts, uint32_t arg, intent_engine_params *p,
                                 smart_str *key) {
    zval *given[N_ENGINE_OPTIONS] = {0};
    zend_string *name;
    zend_ulong idx;
    zval *v;

    ZEND_HASH_FOREACH_KEY_VAL(opts, idx, name, v) {
        if (name == NULL) {
            zend_argument_value_error(arg, "must be an array of option name => value, "
                                      "integer key " ZEND_ULONG_FMT " given", idx);
            return false;
        }
        size_t i;
        for (i = 0; i < N_ENGINE_OPTIONS; i++) {
            if (zend_string_equals_cstr(name, engine_options[i].name,
                                        strlen(engine_options[i].name))) {
                break;
            }
        }
        if (i == N_ENGINE_OPTIONS) {
            zend_argument_value_error(arg, "contains the unknown option \"%s\" (known: %s)",
                                      ZSTR_VAL(name), engine_option_names);
            return false;
        }
        ZVAL_DEREF(v);
        given[i] = Z_TYPE_P(v) == IS_NULL ? NULL : v;
    } ZEND_HASH_FOREACH_END();

    bool relative_path = false;
    for (size_t i = 0; i < N_ENGINE_OPTIONS; i++) {
        const engine_option *o = &engine_options[i];
        char *field = (char *)p + o->offset;
        v = given[i];
        if (v == NULL) {
            continue;
        }
        if (key != NULL) {
            smart_str_appends(key, o->name);
            smart_str_appendc(key, '=');
        }
        switch (o->kind) {
        case OPT_STRING: {
            const char *s;
            if (!string_option(v, o->name, arg, &s)) return false;
            memcpy(field, &s, sizeof s);
            if (o->is_path && s[0] != '/') relative_path = true;
            if (key != NULL) {
                smart_str_append_unsigned(key, Z_STRLEN_P(v));
                smart_str_appendc(key, ':');
                smart_str_appendl(key, s, Z_STRLEN_P(v));
            }
            break;
        }
        case OPT_INT32:
        case OPT_UINT32: {
            zend_long l;
            zend_long min = o->kind == OPT_INT32 ? INT32_MIN : 0;
            zend_long max = o->kind == OPT_INT32 ? INT32_MAX : (zend_long)UINT32_MAX;
            if (!long_option(v, o->name, arg, min, max, &l)) return false;
            if (o->kind == OPT_INT32) {
                int32_t x = (int32_t)l;
                memcpy(field, &x, sizeof x);
            } else {
                uint32_t x = (uint32_t)l;
                memcpy(field, &x, sizeof x);
            }
            if (key != NULL) smart_str_append_long(key, l);
            break;
        }
        case OPT_FLOAT: {
            double d;
            if (!float_option(v, o->name, arg, &d)) return false;
            float f = (float)d; /* NaN and out-of-range values are the library's to refuse */
            memcpy(field, &f, sizeof f);
            if (key != NULL) {
                uint32_t bits;
                memcpy(&bits, &f, sizeof bits);
                smart_str_append_unsigned(key, bits);
            }
            break;
        }
        case OPT_BOOL: {
            if (Z_TYPE_P(v) != IS_TRUE && Z_TYPE_P(v) != IS_FALSE) {
                zend_argument_type_error(arg, "option \"%s\" must be of type ?bool, %s given",
                                         o->name, zend_zval_type_name(v));
                return false;
            }
            uint8_t b = Z_TYPE_P(v) == IS_TRUE ? 1 : 0;
            memcpy(field, &b, sizeof b);
            if (key != NULL) smart_str_appendc(key, b ? '1' : '0');
            break;
        }
        }
        if (key != NULL) smart_str_appendc(key, '\n');
    }

    if (key != NULL) {
        /* What the options leave to the environment or the current directory. */
        if (relative_path) {
            char cwd[MAXPATHLEN];
            if (VCWD_GETCWD(cwd, sizeof cwd) != NULL) {
                smart_str_appends(key, "cwd=");
                smart_str_appends(key, cwd);
                smart_str_appendc(key, '\n');
            }
        }
        static const char *const env_vars[] = {"INTENT_MODEL", "INTENT_PLUGIN_PATH"};
        for (size_t i = 0; i < sizeof env_vars / sizeof env_vars[0]; i++) {
            const char *e = getenv(env_vars[i]);
            if (e != NULL) {
                smart_str_appends(key, env_vars[i]);
                smart_str_appendc(key, '=');
                smart_str_appends(key, e);
                smart_str_appendc(key, '\n');
            }
        }
        smart_str_0(key);
    }
    return true;
}

/* Opens a native engine from an options array: NULL with an exception thrown on failure. */
static intent_engine *open_engine(HashTable *opts, uint32_t arg, smart_str *key) {
    intent_engine_params p;
    int32_t st = intent_engine_params_init(&p, sizeof p);
    if (st != INTENT_STATUS_OK) {
        throw_last_error(st);
        return NULL;
    }
    if (!parse_engine_options(opts, arg, &p, key)) {
        return NULL;
    }
    intent_engine *engine = NULL;
    st = intent_engine_new(&p, &engine);
    if (st != INTENT_STATUS_OK) {
        throw_last_error(st);
        return NULL;
    }
    if (engine == NULL) {
        throw_intent(INTENT_STATUS_INTERNAL, "intent_engine_new succeeded without an engine");
    }
    return engine;
}

/* ---- classify options ----------------------------------------------------------------- */

typedef struct classify_call {
    intent_classify_params params;
    bool has_params;     /* false: NULL params, the engine's settings */
    intent_str *labels;  /* emalloc'd, borrowing the label strings; NULL when none */
} classify_call;

/* A valid pointer for an empty label set (the library needs one to tell "no labels" from
 * "all labels") or an empty batch. */
static const intent_str no_strings[1] = {{"", 0}};

static void classify_call_free(classify_call *c) {
    if (c->labels != NULL) {
        efree(c->labels);
        c->labels = NULL;
    }
}

/* Parses classify()'s options array (may be NULL). Returns false with an exception thrown. */
static bool parse_classify_options(HashTable *opts, uint32_t arg, classify_call *c) {
    memset(c, 0, sizeof *c);
    if (opts == NULL || zend_hash_num_elements(opts) == 0) {
        return true;
    }
    int32_t st = intent_classify_params_init(&c->params, sizeof c->params);
    if (st != INTENT_STATUS_OK) {
        throw_last_error(st);
        return false;
    }
    c->has_params = true;

    zend_string *name;
    zend_ulong idx;
    zval *v;
    ZEND_HASH_FOREACH_KEY_VAL(opts, idx, name, v) {
        if (name == NULL) {
            zend_argument_value_error(arg, "must be an array of option name => value, "
                                      "integer key " ZEND_ULONG_FMT " given", idx);
            goto fail;
        }
        ZVAL_DEREF(v);
        if (Z_TYPE_P(v) == IS_NULL) {
            continue; /* null: the engine's setting */
        }
        if (zend_string_equals_literal(name, "labels")) {
            if (Z_TYPE_P(v) != IS_ARRAY) {
                zend_argument_type_error(arg, "option \"labels\" must be of type ?array, %s given",
                                         zend_zval_type_name(v));
                goto fail;
            }
            HashTable *labels = Z_ARRVAL_P(v);
            uint32_t n = zend_hash_num_elements(labels);
            if (n == 0) {
                c->params.labels = no_strings;
                c->params.n_labels = 0;
                continue;
            }
            if (c->labels != NULL) efree(c->labels);
            c->labels = safe_emalloc(n, sizeof(intent_str), 0);
            size_t i = 0;
            zval *label;
            ZEND_HASH_FOREACH_VAL(labels, label) {
                ZVAL_DEREF(label);
                if (Z_TYPE_P(label) != IS_STRING) {
                    zend_argument_type_error(arg, "option \"labels\" must contain only strings, "
                                             "%s given", zend_zval_type_name(label));
                    goto fail;
                }
                c->labels[i].ptr = Z_STRVAL_P(label);
                c->labels[i].len = Z_STRLEN_P(label);
                i++;
            } ZEND_HASH_FOREACH_END();
            c->params.labels = c->labels;
            c->params.n_labels = i;
        } else if (zend_string_equals_literal(name, "top_k")) {
            zend_long k;
            /* 0 would silently mean "the engine's setting" in C: refuse it. */
            if (!long_option(v, "top_k", arg, 1, (zend_long)UINT32_MAX, &k)) goto fail;
            c->params.top_k = (uint32_t)k;
        } else if (zend_string_equals_literal(name, "threshold")) {
            double t;
            if (!float_option(v, "threshold", arg, &t)) goto fail;
            /* A negative threshold would silently mean "the engine's setting" in C. */
            if (!(t >= 0.0 && t <= 1.0)) {
                zend_argument_value_error(arg, "option \"threshold\" must be between 0 and 1");
                goto fail;
            }
            c->params.threshold = (float)t;
        } else {
            zend_argument_value_error(arg, "contains the unknown option \"%s\" "
                                      "(known: labels, top_k, threshold)", ZSTR_VAL(name));
            goto fail;
        }
    } ZEND_HASH_FOREACH_END();
    return true;
fail:
    classify_call_free(c);
    return false;
}

/* ---- results --------------------------------------------------------------------------- */

/* A C float as the PHP float with the shortest decimal form that reads back as the same
 * float (0.31028613 rather than 0.31028613448143005), so probabilities print as they are. */
static double float_to_php(float f) {
    if (!isfinite(f)) {
        return (double)f;
    }
    char buf[32];
    for (int precision = 6; precision <= 9; precision++) {
        snprintf(buf, sizeof buf, "%.*g", precision, (double)f);
        double d = zend_strtod(buf, NULL);
        if ((float)d == f) {
            return d;
        }
    }
    return (double)f;
}

static void set_prop(zend_object *obj, const char *name, zval *value) {
    zend_update_property(intent_result_ce, obj, name, strlen(name), value);
}

/* Copies a live result (still owned by the caller) into a new Intent\Result in *out.
 * Returns false with an exception thrown (and *out undefined) on failure. */
static bool make_result(zval *out, const intent_result *r) {
    const char *intent = intent_result_intent(r);
    if (intent == NULL) {
        throw_intent(INTENT_STATUS_INTERNAL, "the library returned a result without an intent");
        return false;
    }

    zval top;
    size_t n = intent_result_top_count(r);
    array_init_size(&top, (uint32_t)MIN(n, 1024));
    for (size_t i = 0; i < n; i++) {
        const char *label = NULL;
        float prob = 0.0f;
        int32_t st = intent_result_top(r, i, &label, &prob);
        if (st != INTENT_STATUS_OK) {
            throw_last_error(st);
            zval_ptr_dtor(&top);
            return false;
        }
        zval entry;
        array_init_size(&entry, 2);
        add_assoc_string(&entry, "label", label != NULL ? label : "");
        add_assoc_double(&entry, "probability", float_to_php(prob));
        add_next_index_zval(&top, &entry);
    }

    intent_timings t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    int32_t st = intent_result_timings(r, &t);
    if (st != INTENT_STATUS_OK) {
        throw_last_error(st);
        zval_ptr_dtor(&top);
        return false;
    }
    zval timings;
    array_init_size(&timings, 5);
    add_assoc_long(&timings, "tokenize_us", (zend_long)t.tokenize_us);
    add_assoc_long(&timings, "queue_us", (zend_long)t.queue_us);
    add_assoc_long(&timings, "eval_us", (zend_long)t.eval_us);
    add_assoc_long(&timings, "total_us", (zend_long)t.total_us);
    add_assoc_long(&timings, "batch_size", (zend_long)t.batch_size);

    object_init_ex(out, intent_result_ce);
    zend_object *obj = Z_OBJ_P(out);
    zval v;
    ZVAL_STRING(&v, intent);
    set_prop(obj, "intent", &v);
    zval_ptr_dtor(&v);
    ZVAL_DOUBLE(&v, float_to_php(intent_result_confidence(r)));
    set_prop(obj, "confidence", &v);
    ZVAL_BOOL(&v, intent_result_is_fallback(r) != 0);
    set_prop(obj, "isFallback", &v);
    set_prop(obj, "top", &top);
    zval_ptr_dtor(&top);
    set_prop(obj, "timings", &timings);
    zval_ptr_dtor(&timings);
    ZVAL_LONG(&v, (zend_long)intent_result_query_tokens(r));
    set_prop(obj, "queryTokens", &v);
    ZVAL_BOOL(&v, intent_result_is_truncated(r) != 0);
    set_prop(obj, "truncated", &v);
    return true;
}

/* ---- Intent\Engine ----------------------------------------------------------------------- */

static zend_object *engine_create(zend_class_entry *ce) {
    php_intent_engine_obj *o = zend_object_alloc(sizeof(php_intent_engine_obj), ce);
    zend_object_std_init(&o->std, ce);
    object_properties_init(&o->std, ce);
    o->std.handlers = &intent_engine_handlers;
    return &o->std;
}

static void engine_free(zend_object *obj) {
    php_intent_engine_obj *o = engine_from_obj(obj);
    if (o->native != NULL) {
        native_release(o->native);
        o->native = NULL;
    }
    zend_object_std_dtor(obj);
}

PHP_METHOD(Intent_Engine, __construct) {
    HashTable *opts = NULL;
    ZEND_PARSE_PARAMETERS_START(0, 1)
        Z_PARAM_OPTIONAL
        Z_PARAM_ARRAY_HT(opts)
    ZEND_PARSE_PARAMETERS_END();

    php_intent_engine_obj *o = engine_from_obj(Z_OBJ_P(ZEND_THIS));
    if (o->constructed) {
        zend_throw_error(NULL, "Cannot call the constructor of Intent\\Engine twice");
        RETURN_THROWS();
    }
    o->constructed = true;
    intent_engine *engine = open_engine(opts != NULL ? opts : (HashTable *)&zend_empty_array, 1, NULL);
    if (engine == NULL) {
        RETURN_THROWS();
    }
    o->native = native_new(engine);
}

PHP_METHOD(Intent_Engine, shared) {
    HashTable *opts = NULL;
    ZEND_PARSE_PARAMETERS_START(0, 1)
        Z_PARAM_OPTIONAL
        Z_PARAM_ARRAY_HT(opts)
    ZEND_PARSE_PARAMETERS_END();
    if (opts == NULL) opts = (HashTable *)&zend_empty_array;

    /* Validate the options and build the key without opening anything. */
    intent_engine_params p;
    int32_t st = intent_engine_params_init(&p, sizeof p);
    if (st != INTENT_STATUS_OK) {
        throw_last_error(st);
        RETURN_THROWS();
    }
    smart_str key = {0};
    smart_str_appends(&key, "engine\n");
    if (!parse_engine_options(opts, 1, &p, &key)) {
        smart_str_free(&key);
        RETURN_THROWS();
    }

    INTENT_LOCK();
    php_intent_native *stale = NULL;
    php_intent_native *n = zend_hash_find_ptr(&shared_engines, key.s);
    if (n != NULL && n->pid != getpid()) {
        /* Inherited across fork: leave it to the parent, open our own. */
        zend_hash_del(&shared_engines, key.s);
        stale = n;
        n = NULL;
    }
    if (n != NULL) {
        n->refs++;
    }
    INTENT_UNLOCK();
    if (stale != NULL) {
        native_release(stale);
    }

    if (n == NULL) {
        intent_engine *engine = NULL;
        st = intent_engine_new(&p, &engine);
        if (st != INTENT_STATUS_OK) {
            throw_last_error(st);
            smart_str_free(&key);
            RETURN_THROWS();
        }
        if (engine == NULL) {
            throw_intent(INTENT_STATUS_INTERNAL, "intent_engine_new succeeded without an engine");
            smart_str_free(&key);
            RETURN_THROWS();
        }
        n = native_new(engine); /* refs = 1: the cache's */
        zend_string *pkey = zend_string_init(ZSTR_VAL(key.s), ZSTR_LEN(key.s), 1);
        INTENT_LOCK();
        php_intent_native *other = zend_hash_find_ptr(&shared_engines, pkey);
        if (other != NULL) {
            /* Another thread (ZTS) opened the same engine meanwhile: use that one. */
            other->refs++;
            INTENT_UNLOCK();
            native_release(n);
            n = other;
        } else {
            zend_hash_add_new_ptr(&shared_engines, pkey, n);
            n->refs++; /* the Engine object's */
            INTENT_UNLOCK();
        }
        zend_string_release(pkey);
    }
    smart_str_free(&key);

    object_init_ex(return_value, intent_engine_ce);
    php_intent_engine_obj *o = engine_from_obj(Z_OBJ_P(return_value));
    o->constructed = true;
    o->shared = true;
    o->native = n;
}

PHP_METHOD(Intent_Engine, sharedCount) {
    ZEND_PARSE_PARAMETERS_NONE();
    INTENT_LOCK();
    zend_long count = (zend_long)zend_hash_num_elements(&shared_engines);
    INTENT_UNLOCK();
    RETURN_LONG(count);
}

PHP_METHOD(Intent_Engine, releaseShared) {
    ZEND_PARSE_PARAMETERS_NONE();
    INTENT_LOCK();
    zend_long count = (zend_long)zend_hash_num_elements(&shared_engines);
    /* Take the entries out under the lock, release them (maybe freeing engines) outside. */
    HashTable dropped = shared_engines;
    zend_hash_init(&shared_engines, 4, NULL, NULL, 1);
    INTENT_UNLOCK();
    shared_table_release(&dropped);
    RETURN_LONG(count);
}

PHP_METHOD(Intent_Engine, libraryVersion) {
    ZEND_PARSE_PARAMETERS_NONE();
    RETURN_STRING(intent_version());
}

PHP_METHOD(Intent_Engine, abiVersion) {
    ZEND_PARSE_PARAMETERS_NONE();
    RETURN_LONG((zend_long)intent_abi_version());
}

PHP_METHOD(Intent_Engine, classify) {
    zend_string *query;
    HashTable *opts = NULL;
    ZEND_PARSE_PARAMETERS_START(1, 2)
        Z_PARAM_STR(query)
        Z_PARAM_OPTIONAL
        Z_PARAM_ARRAY_HT(opts)
    ZEND_PARSE_PARAMETERS_END();

    const intent_engine *engine = this_engine(ZEND_THIS);
    if (engine == NULL) {
        RETURN_THROWS();
    }
    classify_call c;
    if (!parse_classify_options(opts, 2, &c)) {
        RETURN_THROWS();
    }
    intent_result *r = NULL;
    int32_t st = intent_classify(engine, ZSTR_VAL(query), ZSTR_LEN(query),
                                 c.has_params ? &c.params : NULL, &r);
    if (st != INTENT_STATUS_OK) {
        throw_last_error(st); /* before anything else touches the library */
        classify_call_free(&c);
        RETURN_THROWS();
    }
    classify_call_free(&c);
    if (r == NULL) {
        throw_intent(INTENT_STATUS_INTERNAL, "intent_classify succeeded without a result");
        RETURN_THROWS();
    }
    zval result;
    bool ok = make_result(&result, r);
    intent_result_free(r);
    if (!ok) {
        RETURN_THROWS();
    }
    RETURN_COPY_VALUE(&result);
}

PHP_METHOD(Intent_Engine, classifyBatch) {
    HashTable *queries;
    HashTable *opts = NULL;
    ZEND_PARSE_PARAMETERS_START(1, 2)
        Z_PARAM_ARRAY_HT(queries)
        Z_PARAM_OPTIONAL
        Z_PARAM_ARRAY_HT(opts)
    ZEND_PARSE_PARAMETERS_END();

    const intent_engine *engine = this_engine(ZEND_THIS);
    if (engine == NULL) {
        RETURN_THROWS();
    }

    /* The queries, borrowed from the array (no PHP code runs until we are done). */
    uint32_t n = zend_hash_num_elements(queries);
    intent_str *texts = n > 0 ? safe_emalloc(n, sizeof(intent_str), 0) : NULL;
    size_t i = 0;
    zend_string *key;
    zend_ulong idx;
    zval *v;
    ZEND_HASH_FOREACH_KEY_VAL(queries, idx, key, v) {
        ZVAL_DEREF(v);
        if (Z_TYPE_P(v) != IS_STRING) {
            if (key != NULL) {
                zend_argument_type_error(1, "must contain only strings, %s given for key \"%s\"",
                                         zend_zval_type_name(v), ZSTR_VAL(key));
            } else {
                zend_argument_type_error(1, "must contain only strings, %s given for key "
                                         ZEND_ULONG_FMT, zend_zval_type_name(v), idx);
            }
            if (texts != NULL) efree(texts);
            RETURN_THROWS();
        }
        texts[i].ptr = Z_STRVAL_P(v);
        texts[i].len = Z_STRLEN_P(v);
        i++;
    } ZEND_HASH_FOREACH_END();

    classify_call c;
    if (!parse_classify_options(opts, 2, &c)) {
        if (texts != NULL) efree(texts);
        RETURN_THROWS();
    }
    intent_batch *b = NULL;
    int32_t st = intent_classify_batch(engine, texts != NULL ? texts : no_strings, n,
                                       c.has_params ? &c.params : NULL, &b);
    if (st != INTENT_STATUS_OK) {
        throw_last_error(st);
    }
    classify_call_free(&c);
    if (texts != NULL) efree(texts);
    if (st != INTENT_STATUS_OK) {
        RETURN_THROWS();
    }
    if (b == NULL || intent_batch_count(b) != n) {
        intent_batch_free(b);
        throw_intent(INTENT_STATUS_INTERNAL,
                     "the library answered a different number of queries than were asked");
        RETURN_THROWS();
    }

    /* One item per query, under the query's key. */
    zval out;
    array_init_size(&out, n);
    i = 0;
    ZEND_HASH_FOREACH_KEY(queries, idx, key) {
        zval item;
        int32_t ist = intent_batch_status(b, i);
        if (ist != INTENT_STATUS_OK) {
            make_exception(&item, ist, intent_batch_error(b, i));
        } else {
            const intent_result *r = intent_batch_result(b, i);
            if (r == NULL) {
                make_exception(&item, INTENT_STATUS_INTERNAL,
                               "the library reported success without a result");
            } else if (!make_result(&item, r)) {
                intent_batch_free(b);
                zval_ptr_dtor(&out);
                RETURN_THROWS();
            }
        }
        if (key != NULL) {
            zend_hash_update(Z_ARRVAL(out), key, &item);
        } else {
            zend_hash_index_update(Z_ARRVAL(out), idx, &item);
        }
        i++;
    } ZEND_HASH_FOREACH_END();
    intent_batch_free(b);
    RETURN_COPY_VALUE(&out);
}

PHP_METHOD(Intent_Engine, labels) {
    ZEND_PARSE_PARAMETERS_NONE();
    const intent_engine *engine = this_engine(ZEND_THIS);
    if (engine == NULL) {
        RETURN_THROWS();
    }
    size_t n = intent_engine_label_count(engine);
    zval out;
    array_init_size(&out, (uint32_t)MIN(n, INTENT_MAX_LABELS));
    for (size_t i = 0; i < n; i++) {
        const char *label = intent_engine_label(engine, i);
        if (label == NULL) {
            zval_ptr_dtor(&out);
            throw_intent(INTENT_STATUS_INTERNAL,
                         "intent_engine_label returned NULL within the label count");
            RETURN_THROWS();
        }
        add_next_index_string(&out, label);
    }
    RETURN_COPY_VALUE(&out);
}

PHP_METHOD(Intent_Engine, close) {
    ZEND_PARSE_PARAMETERS_NONE();
    (void)return_value; /* void */
    php_intent_engine_obj *o = engine_from_obj(Z_OBJ_P(ZEND_THIS));
    if (o->native != NULL) {
        php_intent_native *n = o->native;
        o->native = NULL;
        native_release(n);
    }
}

PHP_METHOD(Intent_Engine, isClosed) {
    ZEND_PARSE_PARAMETERS_NONE();
    RETURN_BOOL(engine_from_obj(Z_OBJ_P(ZEND_THIS))->native == NULL);
}

PHP_METHOD(Intent_Engine, isShared) {
    ZEND_PARSE_PARAMETERS_NONE();
    RETURN_BOOL(engine_from_obj(Z_OBJ_P(ZEND_THIS))->shared);
}

/* ---- Intent\Result ----------------------------------------------------------------------- */

static zend_object *result_create(zend_class_entry *ce) {
    zend_object *obj = zend_objects_new(ce);
    object_properties_init(obj, ce);
    obj->handlers = &intent_result_handlers;
    return obj;
}

PHP_METHOD(Intent_Result, __construct) {
    ZEND_PARSE_PARAMETERS_NONE();
    (void)return_value; /* private: never called from outside the class */
}

/* The result's properties as an array with snake_case keys. */
static void result_to_array(zend_object *obj, zval *out) {
    static const char *const props[][2] = {
        {"intent", "intent"},           {"confidence", "confidence"},
        {"isFallback", "is_fallback"},  {"top", "top"},
        {"timings", "timings"},         {"queryTokens", "query_tokens"},
        {"truncated", "truncated"},
    };
    array_init_size(out, sizeof props / sizeof props[0]);
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        zval rv;
        zval *v = zend_read_property(intent_result_ce, obj, props[i][0], strlen(props[i][0]), 1, &rv);
        Z_TRY_ADDREF_P(v);
        add_assoc_zval(out, props[i][1], v);
    }
}

PHP_METHOD(Intent_Result, toArray) {
    ZEND_PARSE_PARAMETERS_NONE();
    result_to_array(Z_OBJ_P(ZEND_THIS), return_value);
}

PHP_METHOD(Intent_Result, jsonSerialize) {
    ZEND_PARSE_PARAMETERS_NONE();
    result_to_array(Z_OBJ_P(ZEND_THIS), return_value);
}

/* ---- Intent\Exception -------------------------------------------------------------------- */

PHP_METHOD(Intent_Exception, getStatusName) {
    ZEND_PARSE_PARAMETERS_NONE();
    zval rv;
    zval *code = zend_read_property(zend_ce_exception, Z_OBJ_P(ZEND_THIS), "code",
                                    sizeof("code") - 1, 1, &rv);
    zend_long c = zval_get_long(code);
    if (c >= 0 && c < (zend_long)(sizeof status_names / sizeof status_names[0])) {
        RETURN_STRING(status_names[c]);
    }
    RETURN_STR(zend_strpprintf(0, "STATUS_" ZEND_LONG_FMT, c));
}

PHP_METHOD(Intent_Exception, describe) {
    zend_long code;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_LONG(code)
    ZEND_PARSE_PARAMETERS_END();
    int32_t c = (code >= INT32_MIN && code <= INT32_MAX) ? (int32_t)code : -1;
    RETURN_STRING(intent_status_str(c));
}

/* ---- module ------------------------------------------------------------------------------ */

PHP_MINIT_FUNCTION(intent) {
    (void)type;
    uint32_t lib_abi = intent_abi_version();
    if (lib_abi != INTENT_ABI_VERSION) {
        php_error_docref(NULL, E_CORE_WARNING,
                         "intent: the loaded libintent %s has ABI version %u, but this extension "
                         "was built for ABI version %u: rebuild the extension against the "
                         "installed libintent (or install libintent.so.%u)",
                         intent_version(), (unsigned)lib_abi, (unsigned)INTENT_ABI_VERSION,
                         (unsigned)INTENT_ABI_VERSION);
        return FAILURE;
    }

    register_intent_symbols(module_number);

    intent_engine_ce = register_class_Intent_Engine();
    intent_engine_ce->create_object = engine_create;
    memcpy(&intent_engine_handlers, zend_get_std_object_handlers(), sizeof(zend_object_handlers));
    intent_engine_handlers.offset = XtOffsetOf(php_intent_engine_obj, std);
    intent_engine_handlers.free_obj = engine_free;
    intent_engine_handlers.clone_obj = NULL;

    intent_result_ce = register_class_Intent_Result(php_json_serializable_ce);
    intent_result_ce->create_object = result_create;
    memcpy(&intent_result_handlers, zend_get_std_object_handlers(), sizeof(zend_object_handlers));
    intent_result_handlers.clone_obj = NULL;

    intent_exception_ce = register_class_Intent_Exception(spl_ce_RuntimeException);

#ifdef ZTS
    intent_lock = tsrm_mutex_alloc();
#endif
    zend_hash_init(&shared_engines, 4, NULL, NULL, 1);
    shared_engines_ready = true;
    return SUCCESS;
}

PHP_MSHUTDOWN_FUNCTION(intent) {
    (void)type;
    (void)module_number;
    if (shared_engines_ready) {
        shared_table_release(&shared_engines);
        shared_engines_ready = false;
#ifdef ZTS
        tsrm_mutex_free(intent_lock);
#endif
    }
    return SUCCESS;
}

PHP_MINFO_FUNCTION(intent) {
    (void)zend_module;
    char buf[64];
    php_info_print_table_start();
    php_info_print_table_row(2, "intent support", "enabled");
    php_info_print_table_row(2, "Extension version", PHP_INTENT_VERSION);
    php_info_print_table_row(2, "libintent version (loaded)", intent_version());
    snprintf(buf, sizeof buf, "%u (compiled against %u)", (unsigned)intent_abi_version(),
             (unsigned)INTENT_ABI_VERSION);
    php_info_print_table_row(2, "libintent ABI version", buf);
    INTENT_LOCK();
    snprintf(buf, sizeof buf, "%u", shared_engines_ready ? zend_hash_num_elements(&shared_engines) : 0);
    INTENT_UNLOCK();
    php_info_print_table_row(2, "Shared engines in this process", buf);
    php_info_print_table_end();
}

static const zend_module_dep intent_deps[] = {
    ZEND_MOD_REQUIRED("spl")
    ZEND_MOD_REQUIRED("json")
    ZEND_MOD_END
};

zend_module_entry intent_module_entry = {
    STANDARD_MODULE_HEADER_EX,
    NULL,
    intent_deps,
    "intent",
    NULL, /* functions: the API is the classes */
    PHP_MINIT(intent),
    PHP_MSHUTDOWN(intent),
    NULL,
    NULL,
    PHP_MINFO(intent),
    PHP_INTENT_VERSION,
    STANDARD_MODULE_PROPERTIES
};

#ifdef COMPILE_DL_INTENT
#ifdef ZTS
ZEND_TSRMLS_CACHE_DEFINE()
#endif
ZEND_GET_MODULE(intent)
#endif
