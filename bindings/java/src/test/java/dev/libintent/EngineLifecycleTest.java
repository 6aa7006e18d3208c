package dev.libintent;

import static dev.libintent.IntentEngineTest.assertCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Opening failures, close, use after close and the Cleaner: each test opens its own engine. */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class EngineLifecycleTest {

    @Test
    void missingModelNamesThePath() {
        String path = "/nonexistent/model.gguf";
        IntentException e = assertThrows(IntentException.class,
                () -> IntentEngine.open(EngineOptions.builder().model(path).build()));
        assertCode(Status.MODEL_NOT_FOUND, e);
        assertTrue(e.getMessage().contains(path), e.getMessage());
    }

    @Test
    void unknownBackend() {
        IntentException e = assertThrows(IntentException.class,
                () -> IntentEngine.open(EngineOptions.builder().backend("no-such-backend").build()));
        assertCode(Status.PLUGIN_NOT_FOUND, e);
        assertTrue(e.getMessage().contains("no-such-backend"), e.getMessage());
    }

    @Test
    void missingTaxonomy() {
        IntentException e = assertThrows(IntentException.class,
                () -> IntentEngine.open(EngineOptions.builder().taxonomy("/nonexistent/taxonomy.json").build()));
        assertTrue(e.code() == Status.IO || e.code() == Status.INVALID_TAXONOMY, e.toString());
        assertTrue(e.getMessage().contains("/nonexistent/taxonomy.json"), e.getMessage());
    }

    @Test
    void badEngineOptions() {
        EngineOptions[] bad = {
            EngineOptions.builder().topK(-1).build(),
            EngineOptions.builder().topK(0).build(),
            EngineOptions.builder().threshold(2f).build(),
            EngineOptions.builder().threshold(Float.NaN).build(),
            EngineOptions.builder().threads(-5).build(),
            EngineOptions.builder().maxBatch(0).build(),
            EngineOptions.builder().maxQueryTokens(-1).build(),
            EngineOptions.builder().model("bad\0path").build(),
        };
        for (EngineOptions o : bad) {
            assertCode(Status.INVALID_ARGUMENT, assertThrows(IntentException.class, () -> IntentEngine.open(o)));
        }
        assertThrows(NullPointerException.class, () -> IntentEngine.open(null));
    }

    @Test
    void closeWaitsForCallsAndUseAfterCloseThrows() throws Exception {
        IntentEngine e = IntentEngine.open(IntentEngineTest.testOptions().maxParallel(2).build());
        assertFalse(e.isClosed());
        assertTrue(e.labels().contains("track_order"));
        e.classify("hello");

        // Close while other threads classify: every call completes or sees IllegalStateException.
        ExecutorService pool = Executors.newFixedThreadPool(4);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<String>> futures = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            futures.add(pool.submit(() -> {
                start.await();
                int done = 0, closed = 0;
                for (int i = 0; i < 5; i++) {
                    try {
                        e.classify("cancel my order");
                        done++;
                    } catch (IllegalStateException ex) {
                        closed++;
                    }
                }
                return done + " done, " + closed + " after close";
            }));
        }
        start.countDown();
        Thread.sleep(50);
        e.close();
        for (Future<String> f : futures) {
            System.out.println("close during classify: " + f.get(120, TimeUnit.SECONDS));
        }
        pool.shutdown();
        assertTrue(e.isClosed());

        e.close(); // idempotent
        e.close();
        assertThrows(IllegalStateException.class, () -> e.classify("where is my parcel"));
        assertThrows(IllegalStateException.class, () -> e.classify(new byte[] {'a'}, null));
        assertThrows(IllegalStateException.class, () -> e.classifyBatch(List.of("where is my parcel")));
        assertThrows(IllegalStateException.class, e::labels);
    }

    @Test
    void tryWithResourcesAndCloseTwice() {
        IntentEngine kept;
        try (IntentEngine e = IntentEngine.open(IntentEngineTest.testOptions().build())) {
            kept = e;
            assertTrue(e.labels().contains("cancel_order"));
        }
        assertTrue(kept.isClosed());
        kept.close();
        assertThrows(IllegalStateException.class, () -> kept.classify("where is my parcel"));
    }

    @Test
    void cleanerFreesAnUnreachableEngine() throws InterruptedException {
        int before = IntentEngine.FREED.get();
        openAndDrop();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (IntentEngine.FREED.get() == before) {
            if (System.nanoTime() > deadline) {
                fail("the Cleaner did not free an unreachable engine within 30 s");
            }
            System.gc();
            Thread.sleep(50);
        }
        assertEquals(before + 1, IntentEngine.FREED.get());
    }

    private static void openAndDrop() {
        IntentEngine e = IntentEngine.open(IntentEngineTest.testOptions().build());
        e.classify("where is my parcel");
    }
}
