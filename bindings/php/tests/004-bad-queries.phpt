--TEST--
Bad queries: empty, blank, 1 MB, invalid UTF-8, NUL bytes, truncation; no crash
--EXTENSIONS--
intent
--FILE--
<?php
require __DIR__ . '/intent_test.inc';

$engine = new Intent\Engine(intent_test_options());
$labels = $engine->labels();

expect_throw('empty', Intent\Exception::class, fn() => $engine->classify(''));
expect_throw('blank', Intent\Exception::class, fn() => $engine->classify(" \t\r\n "));
$e = expect_throw('1 MB', Intent\Exception::class, fn() => $engine->classify(str_repeat('where is my parcel? ', 52429)));
check($e !== null && $e->getCode() === Intent\Exception::QUERY_TOO_LONG && $e->getMessage() !== '', 'QUERY_TOO_LONG with a message', $e?->getMessage());
expect_throw('200 words', Intent\Exception::class, fn() => $engine->classify(str_repeat('parcel ', 200)));
expect_throw('invalid UTF-8 byte', Intent\Exception::class, fn() => $engine->classify("where is my \xff parcel"));
expect_throw('truncated sequence', Intent\Exception::class, fn() => $engine->classify("caf\xc3"));
expect_throw('overlong encoding', Intent\Exception::class, fn() => $engine->classify("\xc0\xaf"));
expect_throw('UTF-16 surrogate', Intent\Exception::class, fn() => $engine->classify("\xed\xa0\x80"));
expect_throw('random bytes', Intent\Exception::class, fn() => $engine->classify("\x80\x81\x82\xfe\xff"));

// Valid but unusual text is classified.
check_result($engine->classify("where\0is my parcel?"), $labels, 'embedded NUL byte');
check_result($engine->classify('où est mon colis ? 🚚'), $labels, 'non-ASCII UTF-8');
check_result($engine->classify('?'), $labels, 'one character');
check_result($engine->classify(str_repeat('parcel ', 50)), $labels, 'fifty words');
check_result($engine->classify(123), $labels, 'an int, coerced to string');

// Type errors from PHP's argument checks.
expect_throw('array query', TypeError::class, fn() => $engine->classify(['where is my parcel?']));
expect_throw('object query', TypeError::class, fn() => $engine->classify(new stdClass()));
expect_throw('options not an array', TypeError::class, fn() => $engine->classify('hi', 'top_k=3'));

// With truncation on, a long query is cut to max_query_tokens and answered.
$t = new Intent\Engine(intent_test_options(['max_query_tokens' => 8, 'truncate' => true]));
$r = $t->classify(str_repeat('where is my parcel? ', 50));
check_result($r, $labels, 'truncated long query');
check($r->truncated && $r->queryTokens === 8, 'truncated to 8 tokens', [$r->truncated, $r->queryTokens]);
$short = $t->classify('hi');
check(!$short->truncated, 'short query not truncated');
$r = $t->classify(str_repeat('parcel ', 150000));
check($r->truncated, '1 MB query truncated');
$t->close();

// The engine is still fine after all that.
check_result($engine->classify('where is my parcel?'), $labels, 'still working');
?>
--EXPECT--
empty: Intent\Exception EMPTY_QUERY
blank: Intent\Exception EMPTY_QUERY
1 MB: Intent\Exception QUERY_TOO_LONG
ok: QUERY_TOO_LONG with a message
200 words: Intent\Exception QUERY_TOO_LONG
invalid UTF-8 byte: Intent\Exception INVALID_UTF8
truncated sequence: Intent\Exception INVALID_UTF8
overlong encoding: Intent\Exception INVALID_UTF8
UTF-16 surrogate: Intent\Exception INVALID_UTF8
random bytes: Intent\Exception INVALID_UTF8
ok: embedded NUL byte
ok: non-ASCII UTF-8
ok: one character
ok: fifty words
ok: an int, coerced to string
array query: TypeError
object query: TypeError
options not an array: TypeError
ok: truncated long query
ok: truncated to 8 tokens
ok: short query not truncated
ok: 1 MB query truncated
ok: still working
