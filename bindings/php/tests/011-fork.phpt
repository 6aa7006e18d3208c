--TEST--
fork(): a child refuses the parent's engine (it could hang) and opens its own shared engine
--EXTENSIONS--
intent
pcntl
--FILE--
<?php
require __DIR__ . '/intent_test.inc';

$engine = Intent\Engine::shared(intent_test_options());
$want = $engine->classify('where is my parcel?')->intent;

$pid = pcntl_fork();
if ($pid === 0) {
    try {
        $engine->classify('where is my parcel?');
        echo "FAIL: child used the parent's engine\n";
    } catch (Intent\Exception $e) {
        echo 'child: ', $e->getStatusName(), ' ', str_contains($e->getMessage(), 'fork') ? 'mentions fork' : $e->getMessage(), "\n";
    }
    $own = Intent\Engine::shared(intent_test_options());  // not the inherited one
    echo 'child: own shared engine ', $own->classify('where is my parcel?')->intent === $want ? 'same answer' : 'DIFFERENT', "\n";
    $engine->close();   // must not free the parent's engine
    Intent\Engine::releaseShared();   // frees the child's own engine only
    exit(0);
}
pcntl_waitpid($pid, $status);
check(pcntl_wifexited($status) && pcntl_wexitstatus($status) === 0, 'child exited cleanly');
check($engine->classify('where is my parcel?')->intent === $want, 'parent engine still works');
check(Intent\Engine::shared(intent_test_options())->classify('hello') instanceof Intent\Result, 'parent cache intact');
?>
--EXPECT--
child: CLOSED mentions fork
child: own shared engine same answer
ok: child exited cleanly
ok: parent engine still works
ok: parent cache intact
