--TEST--
Concurrency: worker processes (as PHP-FPM runs them) classify at once, same answers as sequential
--EXTENSIONS--
intent
--SKIPIF--
<?php
if (!function_exists('proc_open')) die('skip proc_open() is disabled');
?>
--FILE--
<?php
require __DIR__ . '/intent_test.inc';

$queries = [
    'where is my parcel?',
    'I want to cancel my order',
    'how long does shipping take',
    'I forgot my password',
    'can I pay with paypal',
    'hello there',
];
$workers = 3;
$rounds = 2;

// Sequential answers, in this process.
$engine = new Intent\Engine(intent_test_options());
$expected = [];
foreach ($queries as $q) {
    $r = $engine->classify($q);
    $expected[] = [$r->intent, $r->confidence];
}
$engine->close();

// Start the workers; each opens its own engine and reports "ready".
$procs = [];
foreach (range(1, $workers) as $w) {
    $cmd = intent_test_php(__DIR__ . '/concurrency_worker.inc', json_encode($queries), (string)$rounds);
    $p = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    $procs[] = ['proc' => $p, 'pipes' => $pipes];
}
$ready = 0;
foreach ($procs as $i => $p) {
    $line = fgets($p['pipes'][1]);
    if (trim((string)$line) === 'ready') $ready++;
    else echo "worker $i: ", var_export($line, true), ' ', stream_get_contents($p['pipes'][2]), "\n";
}
check($ready === $workers, "$workers workers ready");

// All at once.
foreach ($procs as $p) { fwrite($p['pipes'][0], "go\n"); fclose($p['pipes'][0]); }
$pids = [];
$ok = true;
foreach ($procs as $i => $p) {
    $out = stream_get_contents($p['pipes'][1]);
    $err = stream_get_contents($p['pipes'][2]);
    fclose($p['pipes'][1]);
    fclose($p['pipes'][2]);
    $rc = proc_close($p['proc']);
    $data = json_decode(trim($out), true);
    if ($rc !== 0 || !is_array($data)) {
        $ok = false;
        echo "worker $i: exit $rc, output ", var_export($out, true), ", stderr ", var_export($err, true), "\n";
        continue;
    }
    $pids[] = $data['pid'];
    foreach ($data['answers'] as $round => $answers) {
        foreach ($answers as $j => [$intent, $confidence]) {
            [$wantIntent, $wantConfidence] = $expected[$j];
            if ($intent !== $wantIntent || abs($confidence - $wantConfidence) > 1e-3) {
                $ok = false;
                echo "worker $i round $round query $j: $intent $confidence, sequential $wantIntent $wantConfidence\n";
            }
        }
    }
}
check(count(array_unique($pids)) === $workers && !in_array(getmypid(), $pids, true), 'separate processes');
check($ok, 'every worker gave the sequential answers');
?>
--EXPECT--
ok: 3 workers ready
ok: separate processes
ok: every worker gave the sequential answers
