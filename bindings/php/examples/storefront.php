<?php
/**
 * Routes a shop's chat messages to handlers by intent.
 *
 * It opens one engine, classifies the messages (from the command line, or a few built-in
 * samples) in one batch, and dispatches on the intent: order tracking, cancellation, refunds
 * and so on get an automatic answer; anything else, or anything the model is unsure about,
 * is handed to a human.
 *
 *   php -d extension=intent examples/storefront.php                  # built-in samples
 *   php -d extension=intent examples/storefront.php [--min-confidence 0.15] [--threads N] \
 *       [--model FILE] "where is my parcel?" "cancel order 1234"
 *
 * In a web application, keep the engine for the life of the worker process with
 * Intent\Engine::shared() and reuse Storefront::reply() per request (see README.md).
 */

declare(strict_types=1);

use Intent\Engine;
use Intent\Exception as IntentException;
use Intent\Result;

final class Storefront
{
    /** The default route: unknown intents, the fallback label, low confidence. */
    public const TO_HUMAN = 'Let me hand you over to a colleague who can help.';

    /** @var array<string, callable(string, Result): string> intent => handler */
    private array $routes;

    /** A storefront on an engine; results under $minConfidence go to a human. */
    public function __construct(private Engine $engine, private float $minConfidence = 0.15)
    {
        $this->routes = [
            'track_order' => fn(string $m, Result $r): string =>
                'Let me look up your parcel: could you give me your order number?',
            'cancel_order' => fn(string $m, Result $r): string =>
                'I can cancel that for you. Which order should I cancel?',
            'check_cancellation_fee' => fn(string $m, Result $r): string =>
                'Cancelling before shipment is free; after that a return is needed.',
            'get_refund' => fn(string $m, Result $r): string =>
                'Refunds go back to your original payment method within 5 business days.',
            'delivery_period' => fn(string $m, Result $r): string =>
                'Standard delivery takes 2-4 business days.',
            'recover_password' => fn(string $m, Result $r): string =>
                "I've sent you a link to reset your password.",
            'chit_chat' => fn(string $m, Result $r): string =>
                'Hi! How can I help with your order today?',
        ];
    }

    /** The handler for a result. */
    public function route(Result $r): callable
    {
        if ($r->isFallback || $r->confidence < $this->minConfidence) {
            return fn(string $m, Result $r): string => self::TO_HUMAN;
        }
        return $this->routes[$r->intent] ?? fn(string $m, Result $r): string => self::TO_HUMAN;
    }

    /** The reply to one message; null for an empty message, which is ignored. */
    public function reply(string $message): ?string
    {
        try {
            $r = $this->engine->classify($message);
        } catch (IntentException $e) {
            return $e->getCode() === IntentException::EMPTY_QUERY ? null : self::TO_HUMAN;
        }
        return ($this->route($r))($message, $r);
    }

    /**
     * The messages classified in one batch: for each, [Result|IntentException, reply or
     * null], under the message's key. A bad message gets its own error; the others are
     * still answered.
     *
     * @param string[] $messages
     * @return array<array-key, array{0: Result|IntentException, 1: ?string}>
     */
    public function replies(array $messages): array
    {
        $out = [];
        foreach ($this->engine->classifyBatch($messages) as $key => $item) {
            if ($item instanceof IntentException) {
                $out[$key] = [$item, $item->getCode() === IntentException::EMPTY_QUERY ? null : self::TO_HUMAN];
            } else {
                $out[$key] = [$item, ($this->route($item))($messages[$key], $item)];
            }
        }
        return $out;
    }
}

/** Command line: options, then messages. */
function main(array $argv): int
{
    $minConfidence = 0.15;
    $options = [];
    $messages = [];
    for ($i = 1; $i < count($argv); $i++) {
        $arg = $argv[$i];
        if ($arg === '--min-confidence' && isset($argv[$i + 1])) {
            $minConfidence = (float)$argv[++$i];
        } elseif ($arg === '--threads' && isset($argv[$i + 1])) {
            $options['threads'] = (int)$argv[++$i];
        } elseif ($arg === '--model' && isset($argv[$i + 1])) {
            $options['model'] = $argv[++$i];
        } else {
            $messages[] = $arg;
        }
    }
    if ($messages === []) {
        $messages = [
            'where is my parcel?',
            'I want to cancel my order',
            'how long does shipping take',
            'I forgot my password',
            'hello there',
            "what's the weather like in Paris",
            '',
        ];
    }

    try {
        $engine = new Engine($options);
    } catch (IntentException $e) {
        fprintf(STDERR, "opening libintent %s: %s (%s)\n", Intent\VERSION, $e->getMessage(), $e->getStatusName());
        return 1;
    }
    $shop = new Storefront($engine, $minConfidence);
    $status = 0;
    foreach ($shop->replies($messages) as $key => [$answer, $reply]) {
        $msg = $messages[$key];
        if ($answer instanceof IntentException) {
            if ($reply === null) {
                printf("\"%s\"\n  -> (empty message, ignored)\n", $msg);
            } else {
                fprintf(STDERR, "\"%s\": %s (%s)\n", $msg, $answer->getMessage(), $answer->getStatusName());
                $status = 1;
            }
            continue;
        }
        printf("\"%s\"\n  intent %s (confidence %.2f)\n  -> %s\n", $msg, $answer->intent, $answer->confidence, $reply);
    }
    $engine->close();
    return $status;
}

if (PHP_SAPI === 'cli' && realpath($_SERVER['SCRIPT_FILENAME'] ?? '') === __FILE__) {
    if (!extension_loaded('intent')) {
        fwrite(STDERR, "the intent extension is not loaded: php -d extension=intent " . $argv[0] . "\n");
        exit(1);
    }
    exit(main($argv));
}
