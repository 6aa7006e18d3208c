<?php

/**
 * The API of the intent extension, the PHP binding of libintent (include/intent.h).
 *
 * intent_arginfo.h is generated from this file by PHP's gen_stub.php:
 *   php "$(php-config --prefix)/lib/php/build/gen_stub.php" intent.stub.php
 * (Debian: /usr/lib/php/20220829/build/gen_stub.php). Commit both files together.
 *
 * @generate-class-entries
 */

namespace Intent {
    /**
     * Version of the loaded libintent library, "MAJOR.MINOR.PATCH" (intent_version()).
     *
     * @var string
     * @cvalue intent_version()
     */
    const VERSION = UNKNOWN;

    /**
     * An open libintent engine: a model, a taxonomy and the cached prompt.
     *
     * Opening one loads the model (about two seconds and 200 MB of memory for the default
     * model): open it once and reuse it. close() frees it at once; otherwise it is freed
     * when the object is destroyed. After close() every method but close() and isClosed()
     * throws an Intent\Exception with code Intent\Exception::CLOSED.
     *
     * Engines cannot be cloned or serialized. Under PHP-FPM, use Engine::shared() to keep
     * one engine per worker process across requests. An engine is not usable across fork():
     * in a forked child, its methods throw an Intent\Exception with code CLOSED (the
     * engine's evaluation threads stay in the parent); open another one in the child.
     *
     * @strict-properties
     * @not-serializable
     */
    final class Engine
    {
        /**
         * INTENT_ABI_VERSION of the libintent header this extension was compiled against.
         * The extension refuses to start when the loaded library reports another one.
         *
         * @var int
         * @cvalue INTENT_ABI_VERSION
         */
        public const BINDING_ABI_VERSION = UNKNOWN;

        /**
         * Most queries one classifyBatch() call accepts (INTENT_MAX_BATCH_QUERIES).
         *
         * @var int
         * @cvalue INTENT_MAX_BATCH_QUERIES
         */
        public const MAX_BATCH_QUERIES = UNKNOWN;

        /**
         * Most labels the "labels" option of classify() accepts (INTENT_MAX_LABELS).
         *
         * @var int
         * @cvalue INTENT_MAX_LABELS
         */
        public const MAX_LABELS = UNKNOWN;

        /**
         * Opens an engine. Every option is optional; a missing or null option keeps the
         * library's default:
         *
         * - "backend" (string): backend plugin name, e.g. "gguf-cpu" (default: the first
         *   usable one for the model).
         * - "model" (string): model file or directory (default: $INTENT_MODEL, then the
         *   library's default model).
         * - "taxonomy" (string): built-in taxonomy name or taxonomy JSON file
         *   (default "ecommerce-v1").
         * - "plugin_path" (string): plugin file or directory searched before
         *   $INTENT_PLUGIN_PATH and the library's own directory.
         * - "threads" (int): CPU threads per evaluation; 0 (default) = all cores.
         * - "top_k" (int): labels reported in Result::$top (default 3).
         * - "threshold" (float): best-label probability under which the taxonomy's fallback
         *   label is returned (default 0 = off).
         * - "max_query_tokens" (int): longest query in tokens (default 128).
         * - "truncate" (bool): cut longer queries instead of refusing them (default false).
         * - "use_mmap" (bool): memory-map the weights instead of reading them (default false).
         * - "max_batch" (int): queries evaluated together in one backend call (default 8).
         * - "max_parallel" (int): contexts evaluated in parallel (default 1).
         * - "device" (int): GPU index for GPU backends (default 0).
         *
         * @param array $options option name => value
         * @throws Exception the library refused: MODEL_NOT_FOUND (the message names the
         *   path), PLUGIN_NOT_FOUND, INVALID_ARGUMENT, INVALID_TAXONOMY, ...
         * @throws \ValueError an unknown option name, a string with a NUL byte, or an
         *   integer out of the C type's range
         * @throws \TypeError an option of the wrong type
         */
        public function __construct(array $options = []) {}

        /**
         * Returns an engine kept by this process across requests: the first call with given
         * options opens it, later calls with the same options (in this request or any later
         * request served by the same process, e.g. a PHP-FPM worker) return a new Engine
         * object on the same native engine, instantly. Options are compared after
         * validation; relative paths also by the current directory.
         *
         * close() on such an object detaches only that object: the engine stays cached for
         * the next call. Engine::releaseShared() drops the cache. Engines inherited across
         * fork() are never reused: the child opens its own.
         *
         * @param array $options the options of __construct()
         * @throws Exception as __construct()
         * @throws \ValueError as __construct()
         * @throws \TypeError as __construct()
         */
        public static function shared(array $options = []): Engine {}

        /**
         * Number of engines cached by Engine::shared() in this process.
         */
        public static function sharedCount(): int {}

        /**
         * Drops every engine cached by Engine::shared() in this process and returns how many
         * it dropped. An engine is freed at once unless an Engine object still uses it; then
         * it is freed when the last such object is closed or destroyed.
         */
        public static function releaseShared(): int {}

        /**
         * Version of the loaded libintent library, "MAJOR.MINOR.PATCH" (same as
         * Intent\VERSION).
         */
        public static function libraryVersion(): string {}

        /**
         * ABI version of the loaded libintent library (equal to BINDING_ABI_VERSION, or the
         * extension would not have started).
         */
        public static function abiVersion(): int {}

        /**
         * Classifies one query. The string goes to the library byte for byte: invalid UTF-8
         * fails with INVALID_UTF8, an empty or blank query with EMPTY_QUERY, a query over the
         * engine's "max_query_tokens" with QUERY_TOO_LONG (unless the engine truncates).
         *
         * Options (each optional):
         * - "labels" (list of string): restrict the answer to these labels of the taxonomy
         *   (unknown label: UNKNOWN_LABEL naming it; empty list: EMPTY_LABEL_SET).
         * - "top_k" (int, at least 1): labels reported in Result::$top for this call.
         * - "threshold" (float, 0 to 1): best-label probability under which the taxonomy's
         *   fallback label is returned (Result::$isFallback is then true); 0 turns the
         *   fallback off for this call.
         *
         * @param array $options option name => value
         * @throws Exception the library refused the query or the options, or the engine is
         *   closed (CLOSED)
         * @throws \ValueError an unknown option, top_k under 1, threshold outside [0, 1]
         * @throws \TypeError an option of the wrong type
         */
        public function classify(string $query, array $options = []): Result {}

        /**
         * Classifies several queries together (faster than one classify() call each).
         *
         * Returns an array with the keys of $queries, in the same order: for each query an
         * Intent\Result, or an Intent\Exception (returned, not thrown) when the library
         * refused that query (empty, invalid UTF-8, too long); the other queries are still
         * answered. The call itself throws only when the batch as a whole is refused: bad
         * options (e.g. an unknown label), more than MAX_BATCH_QUERIES queries, a closed
         * engine.
         *
         * @param string[] $queries
         * @param array $options the options of classify()
         * @return array Result or Exception per query, keys kept
         * @throws Exception
         * @throws \ValueError
         * @throws \TypeError a query that is not a string
         */
        public function classifyBatch(array $queries, array $options = []): array {}

        /**
         * The taxonomy's labels in their stable order.
         *
         * @return string[]
         * @throws Exception the engine is closed (CLOSED)
         */
        public function labels(): array {}

        /**
         * Frees the engine now (for an engine from shared(): detaches this object). It is
         * idempotent; afterwards other methods throw an Intent\Exception with code CLOSED.
         */
        public function close(): void {}

        /** True once close() was called (or the engine could not be opened). */
        public function isClosed(): bool {}

        /** True when this object came from Engine::shared(). */
        public function isShared(): bool {}
    }

    /**
     * The answer for one query: plain, read-only data (nothing to free). Results are made
     * by the engine only; they cannot be cloned or serialized (use toArray() or
     * json_encode() to store one).
     *
     * @strict-properties
     * @not-serializable
     */
    final class Result implements \JsonSerializable
    {
        /** The chosen label (the taxonomy's fallback label when $isFallback is true). */
        public readonly string $intent;

        /** Probability of the most probable allowed label, in (0, 1]. */
        public readonly float $confidence;

        /**
         * True when $intent is the fallback label because $confidence was under the
         * threshold.
         */
        public readonly bool $isFallback;

        /**
         * The most probable labels, best first: a list of
         * ["label" => string, "probability" => float].
         *
         */
        public readonly array $top;

        /**
         * Where the time went, in microseconds: "tokenize_us", "queue_us", "eval_us",
         * "total_us", and "batch_size" (queries evaluated together with this one).
         *
         */
        public readonly array $timings;

        /** Number of tokens of the query as evaluated (after truncation, if any). */
        public readonly int $queryTokens;

        /** True when the query was cut to the engine's "max_query_tokens". */
        public readonly bool $truncated;

        /** Results are made by Engine::classify() and Engine::classifyBatch() only. */
        private function __construct() {}

        /**
         * The result as an array: "intent", "confidence", "is_fallback", "top", "timings",
         * "query_tokens", "truncated".
         *
         * @return array
         */
        public function toArray(): array {}

        /**
         * The same array as toArray(), for json_encode().
         *
         * @return array
         */
        public function jsonSerialize(): array {}
    }

    /**
     * A libintent failure: getCode() is the library's status code (one of the constants
     * below, INTENT_STATUS_* in intent.h) and getMessage() the library's message for this
     * failure (which names, for example, the missing model path or the unknown label).
     */
    class Exception extends \RuntimeException
    {
        /**
         * A required argument was missing or malformed.
         * @var int
         * @cvalue INTENT_STATUS_INVALID_ARGUMENT
         */
        public const INVALID_ARGUMENT = UNKNOWN;
        /**
         * Text was not valid UTF-8.
         * @var int
         * @cvalue INTENT_STATUS_INVALID_UTF8
         */
        public const INVALID_UTF8 = UNKNOWN;
        /**
         * The query was empty or only whitespace.
         * @var int
         * @cvalue INTENT_STATUS_EMPTY_QUERY
         */
        public const EMPTY_QUERY = UNKNOWN;
        /**
         * The query was longer than the engine's limit (and truncation was off).
         * @var int
         * @cvalue INTENT_STATUS_QUERY_TOO_LONG
         */
        public const QUERY_TOO_LONG = UNKNOWN;
        /**
         * A label was not in the engine's taxonomy.
         * @var int
         * @cvalue INTENT_STATUS_UNKNOWN_LABEL
         */
        public const UNKNOWN_LABEL = UNKNOWN;
        /**
         * The allowed label set was empty.
         * @var int
         * @cvalue INTENT_STATUS_EMPTY_LABEL_SET
         */
        public const EMPTY_LABEL_SET = UNKNOWN;
        /**
         * A taxonomy could not be read or was malformed.
         * @var int
         * @cvalue INTENT_STATUS_INVALID_TAXONOMY
         */
        public const INVALID_TAXONOMY = UNKNOWN;
        /**
         * The model file or directory does not exist.
         * @var int
         * @cvalue INTENT_STATUS_MODEL_NOT_FOUND
         */
        public const MODEL_NOT_FOUND = UNKNOWN;
        /**
         * The model file is truncated, corrupt or not a model.
         * @var int
         * @cvalue INTENT_STATUS_INVALID_MODEL
         */
        public const INVALID_MODEL = UNKNOWN;
        /**
         * The model is valid but no backend supports its architecture or format.
         * @var int
         * @cvalue INTENT_STATUS_UNSUPPORTED_MODEL
         */
        public const UNSUPPORTED_MODEL = UNKNOWN;
        /**
         * No backend plugin with the requested name (or for this model) was found.
         * @var int
         * @cvalue INTENT_STATUS_PLUGIN_NOT_FOUND
         */
        public const PLUGIN_NOT_FOUND = UNKNOWN;
        /**
         * A plugin was built for another plugin ABI major version.
         * @var int
         * @cvalue INTENT_STATUS_PLUGIN_ABI_MISMATCH
         */
        public const PLUGIN_ABI_MISMATCH = UNKNOWN;
        /**
         * A plugin cannot run on this machine (for example: no CUDA device).
         * @var int
         * @cvalue INTENT_STATUS_PLUGIN_UNAVAILABLE
         */
        public const PLUGIN_UNAVAILABLE = UNKNOWN;
        /**
         * The backend failed while evaluating.
         * @var int
         * @cvalue INTENT_STATUS_BACKEND
         */
        public const BACKEND = UNKNOWN;
        /**
         * Memory could not be allocated, or a request exceeds a configured limit.
         * @var int
         * @cvalue INTENT_STATUS_OUT_OF_MEMORY
         */
        public const OUT_OF_MEMORY = UNKNOWN;
        /**
         * An internal error inside libintent (or a broken invariant seen by the extension).
         * @var int
         * @cvalue INTENT_STATUS_INTERNAL
         */
        public const INTERNAL = UNKNOWN;
        /**
         * A file could not be read or written.
         * @var int
         * @cvalue INTENT_STATUS_IO
         */
        public const IO = UNKNOWN;
        /**
         * The engine was already closed.
         * @var int
         * @cvalue INTENT_STATUS_CLOSED
         */
        public const CLOSED = UNKNOWN;

        /**
         * The name of getCode() as in intent.h without the prefix, e.g. "EMPTY_QUERY"
         * ("STATUS_<n>" for a code this extension does not know).
         */
        public function getStatusName(): string {}

        /**
         * The library's static description of a status code, e.g. "query is empty"
         * (intent_status_str()).
         */
        public static function describe(int $code): string {}
    }
}
