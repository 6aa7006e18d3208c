--TEST--
Lifecycle: close() idempotent, use after close, no clone, no serialization, immutable results
--EXTENSIONS--
intent
--FILE--
<?php
require __DIR__ . '/intent_test.inc';

$engine = new Intent\Engine(intent_test_options());
$r = $engine->classify('where is my parcel?');

// Engines and results are neither cloneable nor serializable.
expect_throw('clone engine', Error::class, fn() => clone $engine);
expect_throw('serialize engine', Exception::class, fn() => serialize($engine));
expect_throw('unserialize engine', Exception::class, fn() => unserialize('O:13:"Intent\Engine":0:{}'));
expect_throw('clone result', Error::class, fn() => clone $r);
expect_throw('serialize result', Exception::class, fn() => serialize($r));
expect_throw('unserialize result', Exception::class, fn() => unserialize('O:13:"Intent\Result":0:{}'));
expect_throw('var_export round trip', Error::class, fn() => Intent\Result::__set_state([]));
expect_throw('new Result', Error::class, fn() => new Intent\Result());
expect_throw('instantiate without constructor', ReflectionException::class, fn() => (new ReflectionClass(Intent\Engine::class))->newInstanceWithoutConstructor());
expect_throw('modify result', Error::class, function () use ($r) { $r->intent = 'cancel_order'; });
expect_throw('add a property', Error::class, function () use ($r) { $r->extra = 1; });
expect_throw('dynamic engine property', Error::class, function () use ($engine) { $engine->x = 1; });
expect_throw('constructor twice', Error::class, fn() => $engine->__construct(intent_test_options()));
check($engine->classify('where is my parcel?')->intent === $r->intent, 'engine unchanged by the refused calls');

// close() is deterministic and idempotent; afterwards everything throws CLOSED.
$engine->close();
check($engine->isClosed(), 'closed');
$engine->close();
check($engine->isClosed(), 'close() twice is fine');
$e = expect_throw('classify after close', Intent\Exception::class, fn() => $engine->classify('where is my parcel?'));
check($e?->getCode() === Intent\Exception::CLOSED && $e->getMessage() === 'the engine is closed', 'CLOSED code and message', $e?->getMessage());
expect_throw('classifyBatch after close', Intent\Exception::class, fn() => $engine->classifyBatch(['hi']));
expect_throw('labels after close', Intent\Exception::class, fn() => $engine->labels());

// Results outlive their engine: they are plain data.
check($r->intent !== '' && $r->toArray()['intent'] === $r->intent, 'result usable after close');

// Engines freed without close(): by unset, and by the cycle collector. Their results and
// batch items are plain data and outlive them.
$tmp = new Intent\Engine(intent_test_options());
$items = $tmp->classifyBatch(['a' => 'where is my parcel?', 'b' => '']);
unset($tmp);
check($items['a'] instanceof Intent\Result && $items['b'] instanceof Intent\Exception, 'batch items outlive the engine');
$cycle = new stdClass();
$cycle->engine = new Intent\Engine(intent_test_options());
$cycle->self = $cycle;
unset($cycle);
check(gc_collect_cycles() >= 1, 'an engine in a reference cycle is collected');
echo "done\n";
?>
--EXPECT--
clone engine: Error
serialize engine: Exception
unserialize engine: Exception
clone result: Error
serialize result: Exception
unserialize result: Exception
var_export round trip: Error
new Result: Error
instantiate without constructor: ReflectionException
modify result: Error
add a property: Error
dynamic engine property: Error
constructor twice: Error
ok: engine unchanged by the refused calls
ok: closed
ok: close() twice is fine
classify after close: Intent\Exception CLOSED
ok: CLOSED code and message
classifyBatch after close: Intent\Exception CLOSED
labels after close: Intent\Exception CLOSED
ok: result usable after close
ok: batch items outlive the engine
ok: an engine in a reference cycle is collected
done
