--TEST--
Module: versions, ABI, phpinfo, classes and status constants (no engine)
--EXTENSIONS--
intent
--FILE--
<?php
require __DIR__ . '/intent_test.inc';

check(extension_loaded('intent'), 'extension loaded');
check(preg_match('/^\d+\.\d+\.\d+$/', Intent\VERSION) === 1, 'Intent\VERSION is MAJOR.MINOR.PATCH');
check(Intent\Engine::libraryVersion() === Intent\VERSION, 'libraryVersion() is Intent\VERSION');
check(preg_match('/^\d+\.\d+\.\d+$/', phpversion('intent')) === 1, 'extension version (from intent.h)');
check(Intent\Engine::BINDING_ABI_VERSION === 1, 'BINDING_ABI_VERSION is 1');
check(Intent\Engine::abiVersion() === Intent\Engine::BINDING_ABI_VERSION, 'loaded ABI is the compiled one');
check(Intent\Engine::MAX_BATCH_QUERIES === 65536 && Intent\Engine::MAX_LABELS === 4096, 'limits');

ob_start();
phpinfo(INFO_MODULES);
$info = ob_get_clean();
check(str_contains($info, 'intent support => enabled'), 'phpinfo section');
check(str_contains($info, 'libintent version (loaded) => ' . Intent\VERSION), 'phpinfo library version');
check(str_contains($info, 'libintent ABI version => 1 (compiled against 1)'), 'phpinfo ABI');

foreach (['Intent\Engine', 'Intent\Result'] as $class) {
    $rc = new ReflectionClass($class);
    check($rc->isFinal() && !$rc->isCloneable(), "$class is final and not cloneable");
}
check(is_subclass_of('Intent\Exception', RuntimeException::class), 'Intent\Exception extends RuntimeException');
check(in_array(JsonSerializable::class, class_implements('Intent\Result'), true), 'Result is JsonSerializable');

// The status constants are the header's codes, in order, and the library describes each.
$names = ['INVALID_ARGUMENT', 'INVALID_UTF8', 'EMPTY_QUERY', 'QUERY_TOO_LONG', 'UNKNOWN_LABEL',
    'EMPTY_LABEL_SET', 'INVALID_TAXONOMY', 'MODEL_NOT_FOUND', 'INVALID_MODEL', 'UNSUPPORTED_MODEL',
    'PLUGIN_NOT_FOUND', 'PLUGIN_ABI_MISMATCH', 'PLUGIN_UNAVAILABLE', 'BACKEND', 'OUT_OF_MEMORY',
    'INTERNAL', 'IO', 'CLOSED'];
$constants = (new ReflectionClass('Intent\Exception'))->getConstants();
$ok = true;
foreach ($names as $i => $name) {
    $code = $i + 1;
    $e = new Intent\Exception('m', $code);
    $text = Intent\Exception::describe($code);
    if (($constants[$name] ?? null) !== $code || $e->getStatusName() !== $name
        || $text === '' || str_starts_with($text, 'unknown')) {
        $ok = false;
        echo "status $code: ", var_export([$constants[$name] ?? null, $e->getStatusName(), $text], true), "\n";
    }
}
check($ok && count($constants) === 18, 'status constants 1..18 match intent.h');
check(Intent\Exception::describe(0) !== '' && Intent\Exception::describe(12345) === 'unknown status', 'describe()');
check((new Intent\Exception('m', 99))->getStatusName() === 'STATUS_99', 'unknown code name');
check(Intent\Engine::sharedCount() === 0, 'no shared engine yet');
?>
--EXPECT--
ok: extension loaded
ok: Intent\VERSION is MAJOR.MINOR.PATCH
ok: libraryVersion() is Intent\VERSION
ok: extension version (from intent.h)
ok: BINDING_ABI_VERSION is 1
ok: loaded ABI is the compiled one
ok: limits
ok: phpinfo section
ok: phpinfo library version
ok: phpinfo ABI
ok: Intent\Engine is final and not cloneable
ok: Intent\Result is final and not cloneable
ok: Intent\Exception extends RuntimeException
ok: Result is JsonSerializable
ok: status constants 1..18 match intent.h
ok: describe()
ok: unknown code name
ok: no shared engine yet
