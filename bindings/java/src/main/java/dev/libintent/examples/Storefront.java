package dev.libintent.examples;

import dev.libintent.BatchItem;
import dev.libintent.ClassificationResult;
import dev.libintent.EngineOptions;
import dev.libintent.IntentEngine;
import dev.libintent.IntentException;
import dev.libintent.Status;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Routes a shop's chat messages to handlers by intent.
 *
 * <p>It opens one engine, classifies the messages (from the command line, or a few built-in
 * samples) in one batch, and dispatches on the intent: order tracking, cancellation, refunds and
 * so on get an automatic answer; anything else, or anything the model is unsure about, is handed
 * to a human.
 *
 * <pre>
 * java -Dlibintent.jni.path=$PWD/target/native/libintent_jni.so -cp target/classes \
 *     dev.libintent.examples.Storefront [--min-confidence 0.15] [--threads N] [--model FILE] \
 *     "where is my parcel?" "cancel order 1234"
 * </pre>
 */
public final class Storefront {
    /** Answers one message whose intent was recognised. */
    @FunctionalInterface
    public interface Handler {
        String answer(String message, ClassificationResult result);
    }

    /** The default route: unknown intents, the fallback label, low confidence. */
    public static final Handler TO_HUMAN = (m, r) -> "Let me hand you over to a colleague who can help.";

    private static final Map<String, Handler> ROUTES = Map.of(
            "track_order", (m, r) -> "Let me look up your parcel: could you give me your order number?",
            "cancel_order", (m, r) -> "I can cancel that for you. Which order should I cancel?",
            "check_cancellation_fee", (m, r) -> "Cancelling before shipment is free; after that a return is needed.",
            "get_refund", (m, r) -> "Refunds go back to your original payment method within 5 business days.",
            "delivery_period", (m, r) -> "Standard delivery takes 2-4 business days.",
            "recover_password", (m, r) -> "I've sent you a link to reset your password.",
            "chit_chat", (m, r) -> "Hi! How can I help with your order today?");

    private final IntentEngine engine;
    private final float minConfidence;

    /** A storefront on a shared engine; results under minConfidence go to a human. */
    public Storefront(IntentEngine engine, float minConfidence) {
        this.engine = engine;
        this.minConfidence = minConfidence;
    }

    /** The handler for a result. */
    public Handler route(ClassificationResult r) {
        if (r.fallback() || r.confidence() < minConfidence) {
            return TO_HUMAN;
        }
        return ROUTES.getOrDefault(r.intent(), TO_HUMAN);
    }

    /**
     * One reply line per message (null for an empty message, which is ignored). The messages are
     * classified in one batch: a bad message gets its own error, the others are still answered.
     */
    public List<String> replies(List<String> messages) {
        List<BatchItem> items = engine.classifyBatch(messages);
        List<String> out = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            BatchItem it = items.get(i);
            if (!it.isOk()) {
                IntentException e = it.error();
                out.add(e.code() == Status.EMPTY_QUERY ? null : TO_HUMAN.answer(messages.get(i), null));
                continue;
            }
            out.add(route(it.result()).answer(messages.get(i), it.result()));
        }
        return out;
    }

    public static void main(String[] args) {
        float minConfidence = 0.15f;
        EngineOptions.Builder options = EngineOptions.builder();
        List<String> messages = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--min-confidence") && i + 1 < args.length) {
                minConfidence = Float.parseFloat(args[++i]);
            } else if (args[i].equals("--threads") && i + 1 < args.length) {
                options.threads(Integer.parseInt(args[++i]));
            } else if (args[i].equals("--model") && i + 1 < args.length) {
                options.model(args[++i]);
            } else {
                messages.add(args[i]);
            }
        }
        if (messages.isEmpty()) {
            messages = Arrays.asList(
                    "where is my parcel?",
                    "I want to cancel my order",
                    "how long does shipping take",
                    "I forgot my password",
                    "hello there",
                    "what's the weather like in Paris",
                    "");
        }
        int status = 0;
        try (IntentEngine engine = IntentEngine.open(options.build())) {
            Storefront shop = new Storefront(engine, minConfidence);
            List<BatchItem> items = engine.classifyBatch(messages);
            for (int i = 0; i < items.size(); i++) {
                String msg = messages.get(i);
                BatchItem it = items.get(i);
                if (!it.isOk()) {
                    if (it.error().code() == Status.EMPTY_QUERY) {
                        System.out.printf("\"%s\"%n  -> (empty message, ignored)%n", msg);
                    } else {
                        System.err.printf("\"%s\": %s%n", msg, it.error());
                        status = 1;
                    }
                    continue;
                }
                ClassificationResult r = it.result();
                System.out.printf("\"%s\"%n  intent %s (confidence %.2f)%n  -> %s%n", msg, r.intent(),
                        r.confidence(), shop.route(r).answer(msg, r));
            }
        } catch (IntentException e) {
            System.err.println("libintent: " + e);
            status = 1;
        }
        if (status != 0) {
            System.exit(status);
        }
    }
}
