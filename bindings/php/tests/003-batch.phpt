--TEST--
Engine::classifyBatch(): same answers as one by one, keys kept, per-query errors
--EXTENSIONS--
intent
--FILE--
<?php
require __DIR__ . '/intent_test.inc';

$engine = new Intent\Engine(intent_test_options());
$labels = $engine->labels();
$queries = [
    'where is my parcel?',
    'I want to cancel my order',
    'how long does shipping take',
    'I forgot my password',
    'hello there',
    'can I pay with paypal',
    'the package arrived broken',
    'do you have this in red?',
    'what is the weather in Paris',
    'how do I get a refund',
];

// Batched evaluation can differ slightly from single queries in llama.cpp (about 0.02 in
// probability), so compare intents, and confidences with a tolerance.
$batch = $engine->classifyBatch($queries);
check(array_keys($batch) === array_keys($queries), 'one item per query, same keys');
$ok = true;
foreach ($queries as $i => $q) {
    $single = $engine->classify($q);
    $b = $batch[$i];
    if (!($b instanceof Intent\Result)) { $ok = false; echo "item $i is ", get_debug_type($b), "\n"; continue; }
    check_result($b, $labels, "batch item $i");
    $close = abs($b->confidence - $single->confidence) <= 0.05;
    if ($b->intent !== $single->intent && !$close) {
        $ok = false;
        echo "query $i: batch {$b->intent} {$b->confidence}, single {$single->intent} {$single->confidence}\n";
    } elseif ($b->intent !== $single->intent) {
        // A near tie may flip between batched and single evaluation: then both labels
        // must be the two best of the single answer.
        $best2 = array_column(array_slice($single->top, 0, 2), 'label');
        if (!in_array($b->intent, $best2, true)) { $ok = false; echo "query $i: {$b->intent} not in the single top 2\n"; }
    } elseif (!$close) {
        $ok = false;
        echo "query $i: confidence batch {$b->confidence} single {$single->confidence}\n";
    }
}
check($ok, 'batch answers match one-by-one answers');
check(max(array_map(fn($r) => $r->timings['batch_size'], $batch)) > 1, 'queries were evaluated together');

// Keys are kept, string and integer alike, in order.
$keyed = $engine->classifyBatch(['a' => 'where is my parcel?', 7 => 'cancel my order', 'z' => 'hello']);
check(array_keys($keyed) === ['a', 7, 'z'], 'string and integer keys kept');

// A bad query gets its own Intent\Exception; the others are still answered.
$mixed = $engine->classifyBatch([
    'ok1' => 'where is my parcel?',
    'empty' => '',
    'blank' => "  \t\n",
    'utf8' => "caf\xc3 \xff\xfe",
    'long' => str_repeat('parcel ', 200000),
    'ok2' => 'I want to cancel my order',
]);
foreach ($mixed as $k => $item) {
    echo "$k: ", $item instanceof Intent\Exception ? 'Intent\Exception ' . $item->getStatusName() : get_class($item), "\n";
}
check($mixed['ok1']->intent === $batch[0]->intent || abs($mixed['ok1']->confidence - $batch[0]->confidence) < 0.05, 'good queries still answered');
check($mixed['empty']->getMessage() !== '' && $mixed['empty']->getCode() === Intent\Exception::EMPTY_QUERY, 'per-item message and code');

// Options apply to every query; options wrong for all fail the whole call.
$sub = $engine->classifyBatch($queries, ['labels' => ['track_order', 'cancel_order'], 'top_k' => 2]);
$ok = true;
foreach ($sub as $r) { $ok = $ok && in_array($r->intent, ['track_order', 'cancel_order'], true) && count($r->top) === 2; }
check($ok, 'label subset applies to the whole batch');
expect_throw('batch unknown label', Intent\Exception::class, fn() => $engine->classifyBatch($queries, ['labels' => ['nope']]));
expect_throw('batch bad top_k', ValueError::class, fn() => $engine->classifyBatch($queries, ['top_k' => -1]));

// The array itself.
check($engine->classifyBatch([]) === [], 'empty batch');
expect_throw('non-string query', TypeError::class, fn() => $engine->classifyBatch(['where is my parcel?', 42]));
expect_throw('null query', TypeError::class, fn() => $engine->classifyBatch(['a' => null]));
expect_throw('array query', TypeError::class, fn() => $engine->classifyBatch([['nested']]));
expect_throw('object query', TypeError::class, fn() => $engine->classifyBatch([new stdClass()]));
expect_throw('too many queries', Intent\Exception::class, fn() => $engine->classifyBatch(array_fill(0, Intent\Engine::MAX_BATCH_QUERIES + 1, 'hi')));

// References in the array are followed.
$q = 'where is my parcel?';
$refs = [&$q];
check($engine->classifyBatch($refs)[0] instanceof Intent\Result, 'references are followed');
?>
--EXPECT--
ok: one item per query, same keys
ok: batch item 0
ok: batch item 1
ok: batch item 2
ok: batch item 3
ok: batch item 4
ok: batch item 5
ok: batch item 6
ok: batch item 7
ok: batch item 8
ok: batch item 9
ok: batch answers match one-by-one answers
ok: queries were evaluated together
ok: string and integer keys kept
ok1: Intent\Result
empty: Intent\Exception EMPTY_QUERY
blank: Intent\Exception EMPTY_QUERY
utf8: Intent\Exception INVALID_UTF8
long: Intent\Exception QUERY_TOO_LONG
ok2: Intent\Result
ok: good queries still answered
ok: per-item message and code
ok: label subset applies to the whole batch
batch unknown label: Intent\Exception UNKNOWN_LABEL
batch bad top_k: ValueError
ok: empty batch
non-string query: TypeError
null query: TypeError
array query: TypeError
object query: TypeError
too many queries: Intent\Exception INVALID_ARGUMENT
ok: references are followed
