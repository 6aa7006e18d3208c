dnl config.m4 of the intent extension (PHP binding of libintent).
dnl
dnl   phpize && ./configure && make          # libintent found by pkg-config
dnl   ./configure --with-intent=/usr/local   # or: PREFIX/include/intent.h, PREFIX/lib/libintent.so
dnl
dnl In a libintent checkout: PKG_CONFIG_PATH=$ROOT/target/release/pkgconfig ./configure
dnl (that libintent.pc adds an rpath, so intent.so finds libintent.so.1 and its plugins).

PHP_ARG_WITH([intent],
  [for libintent support],
  [AS_HELP_STRING([[--with-intent[=DIR]]],
    [Include the libintent binding. DIR is the libintent install prefix
     (default: found by pkg-config, see PKG_CONFIG_PATH)])],
  [yes])

if test "$PHP_INTENT" != "no"; then
  if test "$PHP_INTENT" = "yes"; then
    PKG_CHECK_MODULES([LIBINTENT], [libintent >= 0.1.0],
      [],
      [AC_MSG_ERROR([libintent not found by pkg-config: set PKG_CONFIG_PATH to the directory of libintent.pc (in a checkout: target/release/pkgconfig), or use --with-intent=PREFIX])])
    PHP_EVAL_INCLINE([$LIBINTENT_CFLAGS])
    PHP_EVAL_LIBLINE([$LIBINTENT_LIBS], [INTENT_SHARED_LIBADD])
  else
    AC_MSG_CHECKING([for intent.h in $PHP_INTENT/include])
    if test -r "$PHP_INTENT/include/intent.h"; then
      AC_MSG_RESULT([yes])
    else
      AC_MSG_RESULT([no])
      AC_MSG_ERROR([$PHP_INTENT/include/intent.h not found: --with-intent takes the libintent install prefix])
    fi
    PHP_ADD_INCLUDE([$PHP_INTENT/include])
    PHP_ADD_LIBRARY_WITH_PATH([intent], [$PHP_INTENT/$PHP_LIBDIR], [INTENT_SHARED_LIBADD])
  fi

  dnl The header and the library must both be there and agree on a symbol of the ABI.
  PHP_CHECK_LIBRARY([intent], [intent_abi_version],
    [AC_DEFINE([HAVE_LIBINTENT], [1], [Whether libintent is available])],
    [AC_MSG_ERROR([cannot link against libintent (intent_abi_version not found)])],
    [$INTENT_SHARED_LIBADD])

  PHP_SUBST([INTENT_SHARED_LIBADD])
  PHP_NEW_EXTENSION([intent], [intent.c], [$ext_shared], [], [-DZEND_ENABLE_STATIC_TSRMLS_CACHE=1])
  PHP_ADD_EXTENSION_DEP([intent], [spl])
  PHP_ADD_EXTENSION_DEP([intent], [json])
fi
