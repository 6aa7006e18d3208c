--TEST--
Engine::shared() keeps the engine across requests of one process (built-in web server)
--EXTENSIONS--
intent
--SKIPIF--
<?php
if (!function_exists('proc_open')) die('skip proc_open() is disabled');
?>
--FILE--
<?php
require __DIR__ . '/intent_test.inc';

/** One HTTP GET to the test server; returns the decoded JSON body. */
function get(int $port, string $query): array
{
    $s = @fsockopen('127.0.0.1', $port, $errno, $errstr, 5);
    if ($s === false) throw new RuntimeException("connect: $errstr");
    stream_set_timeout($s, 120);
    fwrite($s, "GET /?q=" . rawurlencode($query) . " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    $response = stream_get_contents($s);
    fclose($s);
    [, $body] = explode("\r\n\r\n", $response, 2) + [1 => ''];
    $data = json_decode($body, true);
    if (!is_array($data)) throw new RuntimeException("bad response: $response");
    return $data;
}

$server = null;
for ($try = 0; $try < 5 && $server === null; $try++) {
    $port = random_int(20000, 60000);
    $cmd = intent_test_php('-S', "127.0.0.1:$port", __DIR__ . '/shared_router.inc');
    $proc = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
    for ($i = 0; $i < 100; $i++) {   // up to 10 s for the server to listen
        usleep(100000);
        $st = proc_get_status($proc);
        if (!$st['running']) break;
        $s = @fsockopen('127.0.0.1', $port, $errno, $errstr, 1);
        if ($s !== false) { fclose($s); $server = $proc; break; }
    }
    if ($server === null) { proc_terminate($proc); proc_close($proc); }
}
if ($server === null) { echo "FAIL: could not start the built-in server\n"; exit; }

try {
    $first = get($port, 'where is my parcel?');
    $second = get($port, 'where is my parcel?');
    $third = get($port, 'I want to cancel my order');
} finally {
    proc_terminate($server);
    proc_close($server);
}

check($first['pid'] === $second['pid'] && $second['pid'] === $third['pid'], 'one server process');
check($first['shared_count'] === 1 && $second['shared_count'] === 1 && $third['shared_count'] === 1, 'one cached engine across requests');
check($first['open_ms'] > 100, 'the first request opens the engine', $first['open_ms']);
check($second['open_ms'] < 200 && $third['open_ms'] < 200 && $second['open_ms'] * 5 < $first['open_ms'], 'later requests reuse it', [$first['open_ms'], $second['open_ms'], $third['open_ms']]);
check($first['intent'] === $second['intent'] && $first['confidence'] === $second['confidence'], 'same answer in both requests');
check($third['intent'] !== '' && $third['confidence'] > 0, 'another query answered');

?>
--EXPECT--
ok: one server process
ok: one cached engine across requests
ok: the first request opens the engine
ok: later requests reuse it
ok: same answer in both requests
ok: another query answered
