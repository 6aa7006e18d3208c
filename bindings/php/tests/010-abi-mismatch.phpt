--TEST--
Module startup refuses a libintent with another ABI version (a stand-in libintent.so.1)
--EXTENSIONS--
intent
--SKIPIF--
<?php
if (!function_exists('proc_open')) die('skip proc_open() is disabled');
foreach ([getenv('CC') ?: 'cc', 'nm'] as $tool) {
    exec('command -v ' . escapeshellarg($tool), $out, $rc);
    if ($rc !== 0) die("skip $tool not found");
}
?>
--FILE--
<?php
require __DIR__ . '/intent_test.inc';

// A libintent.so.1 that reports ABI 99, found before the real one through LD_LIBRARY_PATH
// (intent.so's RUNPATH comes after it). It defines every libintent function intent.so uses;
// only intent_abi_version() and intent_version() may be called: startup must stop there.
$ext = intent_test_extension();
$dir = sys_get_temp_dir() . '/intent-abi-' . getmypid();
@mkdir($dir);
exec('nm -D --undefined-only ' . escapeshellarg($ext), $symbols, $rc);
$c = "#include <stdint.h>\n#include <stdlib.h>\n"
   . "uint32_t intent_abi_version(void) { return 99; }\n"
   . "const char *intent_version(void) { return \"99.0.0\"; }\n";
foreach ($symbols as $line) {
    if (preg_match('/\bU (intent_\w+)$/', $line, $m) && !in_array($m[1], ['intent_abi_version', 'intent_version'], true)) {
        $c .= "void {$m[1]}(void) { abort(); }\n";
    }
}
file_put_contents("$dir/fake.c", $c);
$cc = getenv('CC') ?: 'cc';
exec(escapeshellarg($cc) . " -shared -fPIC -Wl,-soname,libintent.so.1 -o $dir/libintent.so.1 $dir/fake.c 2>&1", $out, $rc);
check($rc === 0 && substr_count($c, 'abort()') > 10, 'stand-in library compiled', $out);

$cmd = intent_test_php('-d', 'display_startup_errors=1', '-d', 'error_reporting=-1', '-r',
    'var_dump(extension_loaded("intent"), class_exists("Intent\\\\Engine"));');
$env = getenv();
$env['LD_LIBRARY_PATH'] = $dir . (isset($env['LD_LIBRARY_PATH']) ? ':' . $env['LD_LIBRARY_PATH'] : '');
$p = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['redirect', 1]], $pipes, null, $env);
$output = stream_get_contents($pipes[1]);
fclose($pipes[1]);
$rc = proc_close($p);
unlink("$dir/fake.c"); unlink("$dir/libintent.so.1"); rmdir($dir);

check(str_contains($output, 'libintent 99.0.0 has ABI version 99, but this extension was built for ABI version 1'), 'clear message naming both versions', $output);
check(str_contains($output, 'Unable to start intent module'), 'the module does not start', $output);
// PHP treats a module whose startup fails as fatal: the script never runs.
check($rc !== 0 && !str_contains($output, 'bool('), 'PHP stops before running the script', [$rc, $output]);
?>
--EXPECT--
ok: stand-in library compiled
ok: clear message naming both versions
ok: the module does not start
ok: PHP stops before running the script
