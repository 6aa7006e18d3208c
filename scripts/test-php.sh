#!/usr/bin/env bash
# Builds the PHP extension of libintent (bindings/php) out of tree in target/php-build with
# phpize, against include/intent.h and the built libintent (pkg-config), with -Wall -Wextra
# -Werror; checks that intent_arginfo.h is generated from the current intent.stub.php; runs
# the .phpt tests with PHP's run-tests.php against the real default model; and runs the
# storefront example. Needs scripts/build.sh first, and php-cli and php-dev (scripts/setup.sh).
#
# Environment: INTENT_TEST_THREADS (CPU threads per evaluation in the tests, default 1),
# INTENT_MODEL (another model), PHP_TEST_ARGS (extra run-tests.php options).
set -euo pipefail
start=$SECONDS
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/bindings/php"
build="$root/target/php-build"
say() { echo "test-php.sh: $*"; }
die() { echo "test-php.sh: $*" >&2; exit 1; }

export PKG_CONFIG_PATH="$root/target/release/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
[[ -f "$root/target/release/pkgconfig/libintent.pc" ]] ||
  die "$root/target/release/pkgconfig/libintent.pc is missing: run scripts/build.sh first"
for tool in php phpize php-config; do
  command -v "$tool" >/dev/null || die "$tool not found: install php-cli and php-dev (scripts/setup.sh)"
done
php_bin="$(command -v php)"
say "$("$php_bin" -r 'echo "PHP ", PHP_VERSION, PHP_ZTS ? " ZTS" : " NTS";'), libintent $(pkg-config --modversion libintent)"

# 1. Build out of tree: a fresh copy of the sources, phpize, configure, make.
rm -rf "$build"
mkdir -p "$build"
cp -R "$src/." "$build/"
rm -f "$build/.gitignore"
(cd "$build" && phpize >phpize.log 2>&1) || { cat "$build/phpize.log" >&2; die "phpize failed"; }

# 2. intent_arginfo.h must be what gen_stub.php makes of intent.stub.php. The stub's hash is
#    recorded in the generated file (gen_stub.php's own up-to-date check); when PHP-Parser is
#    installed, regenerate the file with the gen_stub.php that phpize copied and compare.
stub_hash="$(sed 's/\r$//' "$src/intent.stub.php" | sha1sum | cut -d' ' -f1)"
grep -q "Stub hash: $stub_hash " "$src/intent_arginfo.h" ||
  die "bindings/php/intent_arginfo.h is stale: regenerate it from intent.stub.php with gen_stub.php (see bindings/php/README.md)"
gen_stub="$build/build/gen_stub.php"
if [[ -f "$gen_stub" ]]; then
  # gen_stub.php looks for PHP-Parser in PHP-Parser-<version>/ beside itself and downloads it
  # when missing: point that directory at an installed copy instead (phpize's build
  # directory, or Debian's php-parser package), so that nothing is downloaded.
  parser_dir="$(sed -n 's/^ *\$version = "\([0-9.]*\)";.*/PHP-Parser-\1/p' "$gen_stub" | head -n1)"
  phpize_build="$({ grep -E '^(prefix|exec_prefix|phpdir)=' "$(command -v phpize)"; echo 'echo "$phpdir"'; } | sh)"
  parser_src=""
  for candidate in "$phpize_build/$parser_dir/lib/PhpParser" /usr/share/php/PhpParser; do
    if [[ -n "$parser_dir" && -d "$candidate" ]]; then parser_src="$candidate"; break; fi
  done
  if [[ -n "$parser_src" ]]; then
    mkdir -p "$build/build/$parser_dir/lib" "$build/genstub"
    ln -sfn "$parser_src" "$build/build/$parser_dir/lib/PhpParser"
    cp "$src/intent.stub.php" "$build/genstub/"
    "$php_bin" "$gen_stub" "$build/genstub/intent.stub.php" >/dev/null
    cmp -s "$build/genstub/intent_arginfo.h" "$src/intent_arginfo.h" ||
      die "bindings/php/intent_arginfo.h differs from gen_stub.php's output ($build/genstub/intent_arginfo.h)"
    say "intent_arginfo.h is current (regenerated with gen_stub.php and $parser_src)"
  else
    say "intent_arginfo.h matches the stub's hash (no PHP-Parser installed: not regenerated)"
  fi
else
  say "intent_arginfo.h matches the stub's hash (phpize brought no gen_stub.php: not regenerated)"
fi

# 3. Compile.
(
  cd "$build"
  ./configure --with-intent CFLAGS="-O2 -g -Wall -Wextra -Werror" >configure.log 2>&1 ||
    { tail -n 30 configure.log >&2; exit 1; }
  make -j2 >make.log 2>&1 || { grep -E 'error|warning' make.log >&2 || tail -n 30 make.log >&2; exit 1; }
) || die "building the extension failed"
ext="$build/modules/intent.so"
[[ -f "$ext" ]] || die "the build made no $ext"
if grep -q 'warning:' "$build/make.log"; then
  grep 'warning:' "$build/make.log" >&2
  die "the extension compiled with warnings"
fi
say "built $ext (-Wall -Wextra -Werror, no warnings)"

# 4. The tests. run-tests.php exits 1 when a test fails, leaks or is borked; a run where
#    nothing passed is a failure too.
export INTENT_PHP_EXTENSION="$ext"
export INTENT_TEST_THREADS="${INTENT_TEST_THREADS:-1}"
export NO_INTERACTION=1 REPORT_EXIT_STATUS=1
rc=0
# shellcheck disable=SC2086
(cd "$build" && "$php_bin" -n run-tests.php -n -p "$php_bin" -d "extension=$ext" \
  -q --show-diff --no-color --set-timeout 600 ${PHP_TEST_ARGS:-} tests) | tee "$build/tests.log" || rc=$?
passed="$(sed -n 's/^Tests passed *: *\([0-9]*\).*/\1/p' "$build/tests.log" | tail -n1)"
if [[ $rc -ne 0 || -z "$passed" || "$passed" -eq 0 ]] || grep -q '^FAILED TEST SUMMARY' "$build/tests.log"; then
  die "PHP tests FAILED (run-tests.php exit status $rc); details in $build/tests/*.diff and *.out"
fi

# 5. The storefront example, on the sample messages and on messages given as arguments.
say "examples/storefront.php:"
"$php_bin" -n -d "extension=$ext" "$src/examples/storefront.php" --threads 1 >"$build/storefront.out"
cat "$build/storefront.out"
grep -q '^"where is my parcel?"$' "$build/storefront.out" || die "storefront.php: unexpected output"
grep -q '(empty message, ignored)' "$build/storefront.out" || die "storefront.php: the empty message was not ignored"
"$php_bin" -n -d "extension=$ext" "$src/examples/storefront.php" --threads 1 --min-confidence 1.0 \
  "where is my parcel?" | grep -q 'hand you over to a colleague' ||
  die "storefront.php: a low-confidence message did not go to a human"

say "PHP binding OK in $((SECONDS - start))s ($passed tests passed)"
