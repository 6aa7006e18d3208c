--TEST--
Opening failures: missing model, wrong backend, bad taxonomy, bad option types and values
--EXTENSIONS--
intent
--FILE--
<?php
require __DIR__ . '/intent_test.inc';

$e = expect_throw('missing model', Intent\Exception::class, fn() => new Intent\Engine(intent_test_options(['model' => '/nonexistent/model.gguf'])));
check($e?->getCode() === Intent\Exception::MODEL_NOT_FOUND && str_contains($e->getMessage(), '/nonexistent/model.gguf'), 'message names the model path', $e?->getMessage());

$notModel = tempnam(sys_get_temp_dir(), 'intent');
file_put_contents($notModel, str_repeat("this is not a model\n", 100));
$e = expect_throw('not a model', Intent\Exception::class, fn() => new Intent\Engine(intent_test_options(['model' => $notModel, 'backend' => 'gguf-cpu'])));
check(in_array($e?->getCode(), [Intent\Exception::INVALID_MODEL, Intent\Exception::UNSUPPORTED_MODEL, Intent\Exception::PLUGIN_NOT_FOUND], true), 'a file that is not a model', $e?->getMessage());
unlink($notModel);

$e = expect_throw('wrong backend', Intent\Exception::class, fn() => new Intent\Engine(intent_test_options(['backend' => 'no-such-backend'])));
check($e?->getCode() === Intent\Exception::PLUGIN_NOT_FOUND && str_contains($e->getMessage(), 'no-such-backend'), 'message names the backend', $e?->getMessage());

$e = expect_throw('missing taxonomy', Intent\Exception::class, fn() => new Intent\Engine(intent_test_options(['taxonomy' => '/nonexistent/taxonomy.json'])));
check(in_array($e?->getCode(), [Intent\Exception::INVALID_TAXONOMY, Intent\Exception::IO], true) && str_contains($e->getMessage(), '/nonexistent/taxonomy.json'), 'message names the taxonomy', $e?->getMessage());

$badTaxonomy = tempnam(sys_get_temp_dir(), 'intent');
file_put_contents($badTaxonomy, '{"labels": 42');
$e = expect_throw('malformed taxonomy', Intent\Exception::class, fn() => new Intent\Engine(intent_test_options(['taxonomy' => $badTaxonomy])));
unlink($badTaxonomy);

// Values the library refuses (checked before the model is loaded).
foreach ([
    'threads -5' => ['threads' => -5],
    'top_k 0' => ['top_k' => 0],
    'threshold 2' => ['threshold' => 2.0],
    'threshold NAN' => ['threshold' => NAN],
    'max_batch 0' => ['max_batch' => 0],
    'max_query_tokens 0' => ['max_query_tokens' => 0],
] as $label => $opts) {
    $e = expect_throw($label, Intent\Exception::class, fn() => new Intent\Engine(intent_test_options($opts)));
    if ($e !== null && $e->getMessage() === '') echo "FAIL: $label: empty message\n";
}

// Types and values the extension refuses.
expect_throw('threads as string', TypeError::class, fn() => new Intent\Engine(['threads' => '1']));
expect_throw('threads as float', TypeError::class, fn() => new Intent\Engine(['threads' => 1.0]));
expect_throw('model as int', TypeError::class, fn() => new Intent\Engine(['model' => 42]));
expect_throw('truncate as int', TypeError::class, fn() => new Intent\Engine(['truncate' => 1]));
expect_throw('threshold as string', TypeError::class, fn() => new Intent\Engine(['threshold' => 'high']));
expect_throw('top_k negative', ValueError::class, fn() => new Intent\Engine(['top_k' => -1]));
expect_throw('threads over int32', ValueError::class, fn() => new Intent\Engine(['threads' => PHP_INT_MAX]));
expect_throw('max_batch over uint32', ValueError::class, fn() => new Intent\Engine(['max_batch' => 1 << 33]));
expect_throw('NUL in model path', ValueError::class, fn() => new Intent\Engine(['model' => "models/a\0b.gguf"]));
expect_throw('NUL in backend', ValueError::class, fn() => new Intent\Engine(['backend' => "gguf\0cpu"]));
expect_throw('unknown option', ValueError::class, fn() => new Intent\Engine(['thread' => 1]));
expect_throw('integer key', ValueError::class, fn() => new Intent\Engine(['gguf-cpu']));
expect_throw('options not an array', TypeError::class, fn() => new Intent\Engine('threads=1'));
$e = expect_throw('shared() checks options too', ValueError::class, fn() => Intent\Engine::shared(['modle' => 'x']));
check(str_contains($e?->getMessage() ?? '', '"modle"'), 'the message names the option', $e?->getMessage());
check(Intent\Engine::sharedCount() === 0, 'nothing cached after failures');

// A failed constructor leaves no usable object behind; a good one still opens.
$engine = new Intent\Engine(intent_test_options(['backend' => 'gguf-cpu', 'taxonomy' => 'ecommerce-v1', 'use_mmap' => true, 'max_batch' => 4, 'max_parallel' => 1, 'device' => 0, 'truncate' => false, 'model' => null]));
check($engine->classify('where is my parcel?') instanceof Intent\Result, 'every option given explicitly');
?>
--EXPECT--
missing model: Intent\Exception MODEL_NOT_FOUND
ok: message names the model path
not a model: Intent\Exception INVALID_MODEL
ok: a file that is not a model
wrong backend: Intent\Exception PLUGIN_NOT_FOUND
ok: message names the backend
missing taxonomy: Intent\Exception INVALID_TAXONOMY
ok: message names the taxonomy
malformed taxonomy: Intent\Exception INVALID_TAXONOMY
threads -5: Intent\Exception INVALID_ARGUMENT
top_k 0: Intent\Exception INVALID_ARGUMENT
threshold 2: Intent\Exception INVALID_ARGUMENT
threshold NAN: Intent\Exception INVALID_ARGUMENT
max_batch 0: Intent\Exception INVALID_ARGUMENT
max_query_tokens 0: Intent\Exception INVALID_ARGUMENT
threads as string: TypeError
threads as float: TypeError
model as int: TypeError
truncate as int: TypeError
threshold as string: TypeError
top_k negative: ValueError
threads over int32: ValueError
max_batch over uint32: ValueError
NUL in model path: ValueError
NUL in backend: ValueError
unknown option: ValueError
integer key: ValueError
options not an array: TypeError
shared() checks options too: ValueError
ok: the message names the option
ok: nothing cached after failures
ok: every option given explicitly
