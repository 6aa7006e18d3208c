--TEST--
Engine::shared(): one engine per process and options, close() detaches, releaseShared()
--EXTENSIONS--
intent
--FILE--
<?php
require __DIR__ . '/intent_test.inc';

$opts = intent_test_options();
check(Intent\Engine::sharedCount() === 0, 'cache empty');

$t0 = hrtime(true);
$a = Intent\Engine::shared($opts);
$openMs = (hrtime(true) - $t0) / 1e6;
check($a->isShared() && !$a->isClosed(), 'shared engine open');
check(Intent\Engine::sharedCount() === 1, 'one cached engine');

$t0 = hrtime(true);
$b = Intent\Engine::shared(['threads' => $opts['threads'], 'model' => null] + $opts);
$againMs = (hrtime(true) - $t0) / 1e6;
check(Intent\Engine::sharedCount() === 1, 'same options (null = missing): same engine');
check($againMs < 200 && $againMs * 5 < $openMs, 'the second call reuses it', [$openMs, $againMs]);
check($a !== $b, 'each call returns its own object');

$ra = $a->classify('where is my parcel?');
$rb = $b->classify('where is my parcel?');
check($ra->intent === $rb->intent && $ra->confidence === $rb->confidence, 'same answers');

// close() detaches one object; the engine stays cached and the other object works.
$a->close();
check($a->isClosed() && !$b->isClosed(), 'close() detaches only that object');
expect_throw('closed shared object', Intent\Exception::class, fn() => $a->classify('hi'));
check($b->classify('hello')->intent !== '', 'the other object still works');
check(Intent\Engine::sharedCount() === 1, 'still cached');
$t0 = hrtime(true);
$c = Intent\Engine::shared($opts);
check((hrtime(true) - $t0) / 1e6 < 200, 'reused after close()');

// Other options: another engine. Options are validated like the constructor's.
$d = Intent\Engine::shared(intent_test_options(['top_k' => 5]));
check(Intent\Engine::sharedCount() === 2, 'different options: a second engine');
check(count($d->classify('where is my parcel?')->top) === 5, 'with its own options');
expect_throw('bad option', TypeError::class, fn() => Intent\Engine::shared(['threads' => 'two']));
expect_throw('library error', Intent\Exception::class, fn() => Intent\Engine::shared(['model' => '/nonexistent/model.gguf']));
check(Intent\Engine::sharedCount() === 2, 'failures are not cached');

// releaseShared() empties the cache; objects still holding an engine keep working.
check(Intent\Engine::releaseShared() === 2, 'releaseShared() drops both');
check(Intent\Engine::sharedCount() === 0, 'cache empty again');
check($c->classify('where is my parcel?')->intent === $ra->intent, 'objects keep their engine');
$c->close(); $b->close(); $d->close();
$t0 = hrtime(true);
$e = Intent\Engine::shared($opts);
check((hrtime(true) - $t0) / 1e6 > 100, 'a new engine is opened after releaseShared()');
check(Intent\Engine::sharedCount() === 1, 'cached again');

// A shared engine is not cloneable either; the cache is freed at shutdown.
expect_throw('clone shared', Error::class, fn() => clone $e);
echo "done\n";
?>
--EXPECT--
ok: cache empty
ok: shared engine open
ok: one cached engine
ok: same options (null = missing): same engine
ok: the second call reuses it
ok: each call returns its own object
ok: same answers
ok: close() detaches only that object
closed shared object: Intent\Exception CLOSED
ok: the other object still works
ok: still cached
ok: reused after close()
ok: different options: a second engine
ok: with its own options
bad option: TypeError
library error: Intent\Exception MODEL_NOT_FOUND
ok: failures are not cached
ok: releaseShared() drops both
ok: cache empty again
ok: objects keep their engine
ok: a new engine is opened after releaseShared()
ok: cached again
clone shared: Error
done
