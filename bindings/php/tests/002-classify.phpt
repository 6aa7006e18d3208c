--TEST--
Engine::classify() on the real default model: result shape, labels, options
--EXTENSIONS--
intent
--FILE--
<?php
require __DIR__ . '/intent_test.inc';

$engine = new Intent\Engine(intent_test_options());
check(!$engine->isClosed() && !$engine->isShared(), 'open, not shared');

$labels = $engine->labels();
check(array_is_list($labels) && count($labels) > 10, 'labels() is a list', count($labels));
check(count(array_unique($labels)) === count($labels), 'labels are unique');
check(in_array('track_order', $labels, true) && in_array('out_of_scope', $labels, true), 'ecommerce-v1 labels');

$r = $engine->classify('where is my parcel?');
check($r instanceof Intent\Result, 'classify() returns an Intent\Result');
check_result($r, $labels, 'where is my parcel?', 3);
check($r->isFallback === false && $r->truncated === false, 'no fallback, not truncated');
check($r->timings['batch_size'] === 1, 'batch size 1');

// The same query gives the same answer.
$again = $engine->classify('where is my parcel?');
check($again->intent === $r->intent && abs($again->confidence - $r->confidence) < 1e-6, 'deterministic');

// toArray() and JSON.
$a = $r->toArray();
check(array_keys($a) === ['intent', 'confidence', 'is_fallback', 'top', 'timings', 'query_tokens', 'truncated'], 'toArray() keys');
check($a['intent'] === $r->intent && $a['confidence'] === $r->confidence && $a['top'] === $r->top, 'toArray() values');
check(json_decode(json_encode($r), true) == $a, 'json_encode() is toArray()');

// Options: top_k, label subset, threshold.
$r5 = $engine->classify('where is my parcel?', ['top_k' => 5]);
check_result($r5, $labels, 'top_k 5', 5);
$r1 = $engine->classify('where is my parcel?', ['top_k' => 1]);
check_result($r1, $labels, 'top_k 1', 1);

$subset = ['track_order', 'cancel_order'];
foreach (['where is my parcel?', 'I want my money back', 'hello'] as $q) {
    $s = $engine->classify($q, ['labels' => $subset, 'top_k' => 5]);
    check_result($s, $subset, "labels subset: $q", 2);
    check(abs($s->top[0]['probability'] + $s->top[1]['probability'] - 1) < 1e-3, "subset probabilities sum to 1: $q");
}
$one = $engine->classify('I want my money back', ['labels' => ['get_refund']]);
check($one->intent === 'get_refund' && abs($one->confidence - 1) < 1e-6, 'a single allowed label');

$fb = $engine->classify('where is my parcel?', ['threshold' => 1.0]);
check($fb->isFallback && $fb->intent === 'out_of_scope', 'threshold 1: the fallback label');
check($fb->top[0]['probability'] === $fb->confidence, 'fallback keeps the best probability as confidence');
$nofb = $engine->classify('where is my parcel?', ['threshold' => 0.0, 'labels' => null, 'top_k' => null]);
check(!$nofb->isFallback && $nofb->intent === $r->intent, 'threshold 0 and null options: defaults');

// Engine-level defaults: top_k and threshold set at open time.
$e2 = new Intent\Engine(intent_test_options(['top_k' => 2, 'threshold' => 1.0]));
$d = $e2->classify('where is my parcel?');
check(count($d->top) === 2 && $d->isFallback, 'engine top_k and threshold');
check(!$e2->classify('where is my parcel?', ['threshold' => 0])->isFallback, 'per-call threshold overrides the engine');
$e2->close();

// Bad options are refused before the library is called.
expect_throw('unknown label', Intent\Exception::class, fn() => $engine->classify('hi', ['labels' => ['track_order', 'no_such_label']]));
expect_throw('empty label set', Intent\Exception::class, fn() => $engine->classify('hi', ['labels' => []]));
expect_throw('too many labels', Intent\Exception::class, fn() => $engine->classify('hi', ['labels' => array_fill(0, Intent\Engine::MAX_LABELS + 1, 'track_order')]));
expect_throw('label not a string', TypeError::class, fn() => $engine->classify('hi', ['labels' => ['track_order', 7]]));
expect_throw('labels not an array', TypeError::class, fn() => $engine->classify('hi', ['labels' => 'track_order']));
expect_throw('top_k 0', ValueError::class, fn() => $engine->classify('hi', ['top_k' => 0]));
expect_throw('top_k string', TypeError::class, fn() => $engine->classify('hi', ['top_k' => '3']));
expect_throw('threshold 1.5', ValueError::class, fn() => $engine->classify('hi', ['threshold' => 1.5]));
expect_throw('threshold -0.1', ValueError::class, fn() => $engine->classify('hi', ['threshold' => -0.1]));
expect_throw('threshold NAN', ValueError::class, fn() => $engine->classify('hi', ['threshold' => NAN]));
expect_throw('threshold string', TypeError::class, fn() => $engine->classify('hi', ['threshold' => '0.5']));
expect_throw('unknown option', ValueError::class, fn() => $engine->classify('hi', ['fallback' => true]));
expect_throw('integer key', ValueError::class, fn() => $engine->classify('hi', ['track_order']));
$e = expect_throw('unknown label message', Intent\Exception::class, fn() => $engine->classify('hi', ['labels' => ['no_such_label']]));
check($e !== null && $e->getCode() === Intent\Exception::UNKNOWN_LABEL && str_contains($e->getMessage(), 'no_such_label'), 'the message names the label', $e?->getMessage());
$engine->close();
?>
--EXPECT--
ok: open, not shared
ok: labels() is a list
ok: labels are unique
ok: ecommerce-v1 labels
ok: classify() returns an Intent\Result
ok: where is my parcel?
ok: no fallback, not truncated
ok: batch size 1
ok: deterministic
ok: toArray() keys
ok: toArray() values
ok: json_encode() is toArray()
ok: top_k 5
ok: top_k 1
ok: labels subset: where is my parcel?
ok: subset probabilities sum to 1: where is my parcel?
ok: labels subset: I want my money back
ok: subset probabilities sum to 1: I want my money back
ok: labels subset: hello
ok: subset probabilities sum to 1: hello
ok: a single allowed label
ok: threshold 1: the fallback label
ok: fallback keeps the best probability as confidence
ok: threshold 0 and null options: defaults
ok: engine top_k and threshold
ok: per-call threshold overrides the engine
unknown label: Intent\Exception UNKNOWN_LABEL
empty label set: Intent\Exception EMPTY_LABEL_SET
too many labels: Intent\Exception INVALID_ARGUMENT
label not a string: TypeError
labels not an array: TypeError
top_k 0: ValueError
top_k string: TypeError
threshold 1.5: ValueError
threshold -0.1: ValueError
threshold NAN: ValueError
threshold string: TypeError
unknown option: ValueError
integer key: ValueError
unknown label message: Intent\Exception UNKNOWN_LABEL
ok: the message names the label
