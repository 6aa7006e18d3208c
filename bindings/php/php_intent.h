/*
 * The intent extension: PHP binding of libintent (include/intent.h).
 * The API is described in intent.stub.php; the C source is intent.c.
 */
#ifndef PHP_INTENT_H
#define PHP_INTENT_H

#include <intent.h>

extern zend_module_entry intent_module_entry;
#define phpext_intent_ptr &intent_module_entry

#define PHP_INTENT_STRINGIFY_(x) #x
#define PHP_INTENT_STRINGIFY(x) PHP_INTENT_STRINGIFY_(x)

/* The extension is versioned with the libintent header it is built from. */
#define PHP_INTENT_VERSION                          \
    PHP_INTENT_STRINGIFY(INTENT_VERSION_MAJOR) "."  \
    PHP_INTENT_STRINGIFY(INTENT_VERSION_MINOR) "."  \
    PHP_INTENT_STRINGIFY(INTENT_VERSION_PATCH)

#if defined(ZTS) && defined(COMPILE_DL_INTENT)
ZEND_TSRMLS_CACHE_EXTERN()
#endif

#endif /* PHP_INTENT_H */
