#!/usr/bin/env bash
# Builds the JNI glue of the Java binding (bindings/java/src/main/c/intent_jni.c) into
# bindings/java/target/native/libintent_jni.so with gcc, against include/intent.h and the
# built libintent (pkg-config), then runs the binding's JUnit tests with Maven against the
# real default model, and prints surefire's summary. Needs scripts/build.sh first, a JDK 17
# (JAVA_HOME, or javac on PATH) and Maven (Maven Central for the first run).
set -euo pipefail
start=$SECONDS
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
java_dir="$root/bindings/java"
native_dir="$java_dir/target/native"
jni_lib="$native_dir/libintent_jni.so"

export PKG_CONFIG_PATH="$root/target/release/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
if [[ ! -f "$root/target/release/pkgconfig/libintent.pc" ]]; then
  echo "test-java.sh: $root/target/release/pkgconfig/libintent.pc is missing: run scripts/build.sh first" >&2
  exit 1
fi
if [[ -z "${JAVA_HOME:-}" ]]; then
  javac_path="$(command -v javac || true)"
  if [[ -z "$javac_path" ]]; then
    echo "test-java.sh: set JAVA_HOME or put a JDK's javac on PATH" >&2
    exit 1
  fi
  JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$javac_path")")")"
  export JAVA_HOME
fi
if [[ ! -f "$JAVA_HOME/include/jni.h" ]]; then
  echo "test-java.sh: $JAVA_HOME/include/jni.h is missing: JAVA_HOME must be a JDK" >&2
  exit 1
fi

# 1. The JNI library. pkg-config's flags add an rpath to target/release, so the JVM finds
#    libintent.so.1 (and libintent finds its gguf-cpu plugin) without LD_LIBRARY_PATH.
mkdir -p "$native_dir"
read -r -a intent_flags <<<"$(pkg-config --cflags --libs libintent)"
gcc -std=c11 -O2 -g -Wall -Wextra -Werror -shared -fPIC -Wl,-z,defs \
  -I"$JAVA_HOME/include" -I"$JAVA_HOME/include/linux" \
  -o "$jni_lib" "$java_dir/src/main/c/intent_jni.c" "${intent_flags[@]}"
echo "test-java.sh: built $jni_lib"

# 2. The tests. Stale reports would spoil the summary.
reports="$java_dir/target/surefire-reports"
rm -rf "$reports"
rc=0
# (Maven 3.8's -q still writes bare ANSI colour resets: strip them.)
mvn -q -B -f "$java_dir/pom.xml" test -Dlibintent.jni.path="$jni_lib" 2>&1 \
  | sed -u $'s/\e\\[[0-9;]*m//g' || rc=$?

# 3. Surefire's summary: one line per test class, then the totals (mvn -q hides Maven's own).
if compgen -G "$reports/*.txt" >/dev/null; then
  grep -h '^Tests run:' "$reports"/*.txt
  grep -h '^Tests run:' "$reports"/*.txt | awk -F'[:,] *' '
    { run += $2; fail += $4; err += $6; skip += $8 }
    END { printf "Tests run: %d, Failures: %d, Errors: %d, Skipped: %d\n", run, fail, err, skip }'
else
  echo "test-java.sh: no surefire reports in $reports" >&2
fi
elapsed=$((SECONDS - start))
if [[ $rc -ne 0 ]]; then
  echo "test-java.sh: FAILED (mvn exit status $rc) after ${elapsed}s; details in $reports" >&2
  exit "$rc"
fi
echo "test-java.sh: Java binding OK in ${elapsed}s"
