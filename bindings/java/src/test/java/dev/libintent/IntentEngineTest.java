package dev.libintent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.libintent.examples.Storefront;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Tests on one engine shared by the whole class (opening one takes a couple of seconds). */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class IntentEngineTest {
    static IntentEngine engine;

    /**
     * Options of the engines the tests open: the library's defaults (default model, taxonomy...)
     * except the CPU threads per evaluation, from -Dlibintent.test.threads (the pom sets 1; 0 is
     * the library's default, all cores). On a machine whose cores are busy with other work, ggml's
     * spinning worker threads make evaluations with all cores up to 100x slower than with one.
     */
    static EngineOptions.Builder testOptions() {
        EngineOptions.Builder b = EngineOptions.builder();
        Integer threads = Integer.getInteger("libintent.test.threads");
        if (threads != null) {
            b.threads(threads);
        }
        return b;
    }

    @BeforeAll
    static void openEngine() {
        engine = IntentEngine.open(testOptions().build());
    }

    @AfterAll
    static void closeEngine() {
        if (engine != null) {
            engine.close();
        }
    }

    /** Fails unless e carries the code and a non-empty library message. */
    static IntentException assertCode(Status code, IntentException e) {
        assertNotNull(e, "expected an IntentException with " + code);
        assertEquals(code, e.code(), () -> "wrong code, message: " + e.getMessage());
        assertEquals(code.code(), e.rawCode());
        assertFalse(e.getMessage().isEmpty(), code + " exception has an empty message");
        return e;
    }

    static void checkResult(ClassificationResult r, int wantTop) {
        assertNotNull(r);
        List<String> labels = engine.labels();
        assertTrue(labels.contains(r.intent()), () -> "intent " + r.intent() + " is not a label");
        assertTrue(r.confidence() > 0f && r.confidence() <= 1f, () -> "confidence " + r.confidence());
        if (wantTop >= 0) {
            assertEquals(wantTop, r.top().size(), () -> "top " + r.top());
        }
        for (int i = 0; i < r.top().size(); i++) {
            LabelScore s = r.top().get(i);
            assertTrue(labels.contains(s.label()), () -> "top label " + s.label() + " is not a label");
            assertTrue(s.probability() >= 0f && s.probability() <= 1f, () -> "probability " + s.probability());
            if (i > 0) {
                assertTrue(s.probability() <= r.top().get(i - 1).probability(), () -> "top is not sorted: " + r.top());
            }
        }
        if (!r.fallback() && !r.top().isEmpty()) {
            assertEquals(r.intent(), r.top().get(0).label());
            assertEquals(r.confidence(), r.top().get(0).probability());
        }
        assertTrue(r.timings().totalMicros() > 0 && r.timings().batchSize() > 0, () -> "timings " + r.timings());
    }

    private static String repeat(String s, int n) {
        return String.join("", Collections.nCopies(n, s));
    }

    @Test
    void versionAndAbi() {
        assertTrue(IntentEngine.version().matches("\\d+\\.\\d+\\.\\d+"), IntentEngine.version());
        assertEquals(IntentEngine.BINDING_ABI_VERSION, IntentEngine.abiVersion());
        assertEquals(1, IntentEngine.BINDING_ABI_VERSION);
    }

    @Test
    void statusCodesMirrorTheHeader() {
        Status[] all = Status.values();
        assertEquals(19, all.length);
        for (int i = 0; i < all.length; i++) {
            assertEquals(i, all[i].code());
            assertEquals(all[i], Status.fromCode(i));
            String text = all[i].description();
            assertFalse(text.isEmpty() || text.startsWith("unknown"), "no library text for " + all[i]);
        }
        assertEquals(Status.CLOSED, Status.fromCode(18));
        assertNull(Status.fromCode(19));
        assertNull(Status.fromCode(-1));
        IntentException odd = new IntentException(99, "from the future");
        assertEquals(Status.INTERNAL, odd.code());
        assertEquals(99, odd.rawCode());
        assertTrue(odd.toString().contains("STATUS_99"));
    }

    @Test
    void labels() {
        List<String> labels = engine.labels();
        assertTrue(labels.size() >= 2, labels.toString());
        for (String want : List.of("track_order", "cancel_order", "out_of_scope")) {
            assertTrue(labels.contains(want), "labels lack " + want + ": " + labels);
        }
        assertThrows(UnsupportedOperationException.class, () -> labels.set(0, "mutated"));
    }

    @Test
    void classifyWhereIsMyParcel() {
        ClassificationResult r = engine.classify("where is my parcel");
        checkResult(r, 3);
        assertEquals(1, r.timings().batchSize());
        assertTrue(r.queryTokens() > 0);
        assertFalse(r.truncated());
        System.out.println("where is my parcel -> " + r);
    }

    @Test
    void classifyBadQueries() {
        Object[][] cases = {
            {"".getBytes(StandardCharsets.UTF_8), Status.EMPTY_QUERY},
            {" \t\n ".getBytes(StandardCharsets.UTF_8), Status.EMPTY_QUERY},
            {new byte[] {(byte) 0xff, (byte) 0xfe}, Status.INVALID_UTF8},
            {"where is my \u00c3 parcel".getBytes(StandardCharsets.ISO_8859_1), Status.INVALID_UTF8}, // lone 0xC3
            {repeat("parcel ", 200).getBytes(StandardCharsets.UTF_8), Status.QUERY_TOO_LONG},
            {repeat("a", 1 << 20).getBytes(StandardCharsets.UTF_8), Status.QUERY_TOO_LONG},
        };
        for (Object[] c : cases) {
            byte[] text = (byte[]) c[0];
            Status code = (Status) c[1];
            IntentException e = assertThrows(IntentException.class, () -> engine.classify(text, ClassifyOptions.DEFAULT),
                    () -> "query of " + text.length + " bytes");
            assertCode(code, e);
        }
        // The String overloads too.
        assertCode(Status.EMPTY_QUERY, assertThrows(IntentException.class, () -> engine.classify("")));
        assertCode(Status.EMPTY_QUERY, assertThrows(IntentException.class, () -> engine.classify("   ")));
    }

    @Test
    void tooLongQueries() {
        IntentException e = assertThrows(IntentException.class, () -> engine.classify(repeat("parcel ", 200)));
        assertCode(Status.QUERY_TOO_LONG, e);
        String mib = repeat("a", 1 << 20);
        assertEquals(1 << 20, mib.length());
        e = assertThrows(IntentException.class, () -> engine.classify(mib));
        assertCode(Status.QUERY_TOO_LONG, e);
    }

    @Test
    void nullArguments() {
        assertThrows(NullPointerException.class, () -> engine.classify((String) null));
        assertThrows(NullPointerException.class, () -> engine.classify((byte[]) null, ClassifyOptions.DEFAULT));
        assertThrows(NullPointerException.class, () -> engine.classifyBatch(null));
        assertThrows(NullPointerException.class, () -> engine.classifyBatch(Arrays.asList("a", null)));
        assertThrows(NullPointerException.class,
                () -> engine.classifyBatchUtf8(Arrays.asList(new byte[] {'a'}, null), null));
        assertThrows(NullPointerException.class, () -> ClassifyOptions.builder().labels("a", null));
        // null options mean the defaults
        checkResult(engine.classify("where is my parcel", null), 3);
    }

    @Test
    void classifyBatchWithBadQueries() {
        List<String> texts = List.of(
                "where is my parcel",
                "",
                "I want to cancel my order",
                "   ",
                "do you accept paypal?",
                repeat("parcel ", 200),
                "I forgot my password");
        List<BatchItem> items = engine.classifyBatch(texts, ClassifyOptions.DEFAULT);
        assertEquals(texts.size(), items.size());
        Status[] want = {null, Status.EMPTY_QUERY, null, Status.EMPTY_QUERY, null, Status.QUERY_TOO_LONG, null};
        for (int i = 0; i < items.size(); i++) {
            BatchItem it = items.get(i);
            if (want[i] != null) {
                assertFalse(it.isOk());
                assertNull(it.result());
                assertCode(want[i], it.error());
                IntentException err = it.error();
                assertThrows(IntentException.class, it::resultOrThrow);
                assertEquals(err, assertThrows(IntentException.class, it::resultOrThrow));
            } else {
                assertTrue(it.isOk(), () -> texts.get(0) + ": " + it.error());
                assertNull(it.error());
                checkResult(it.result(), 3);
            }
        }

        // Raw bytes in a batch: invalid UTF-8 is reported for that query only.
        List<byte[]> raw = List.of(
                "where is my parcel".getBytes(StandardCharsets.UTF_8),
                new byte[] {(byte) 0xff, (byte) 0xfe},
                new byte[0],
                "cancel my order please".getBytes(StandardCharsets.UTF_8),
                new byte[] {'o', 'k', (byte) 0xc3});
        items = engine.classifyBatchUtf8(raw, null);
        assertEquals(5, items.size());
        checkResult(items.get(0).result(), 3);
        assertCode(Status.INVALID_UTF8, items.get(1).error());
        assertCode(Status.EMPTY_QUERY, items.get(2).error());
        checkResult(items.get(3).result(), 3);
        assertCode(Status.INVALID_UTF8, items.get(4).error());

        assertEquals(0, engine.classifyBatch(List.of()).size());
    }

    @Test
    void batchMatchesSingleCalls() {
        List<String> texts = List.of("where is my parcel", "I want to cancel my order", "do you accept paypal?");
        List<BatchItem> items = engine.classifyBatch(texts);
        for (int i = 0; i < texts.size(); i++) {
            assertEquals(engine.classify(texts.get(i)).intent(), items.get(i).resultOrThrow().intent(), texts.get(i));
        }
    }

    @Test
    void restrictionToSomeLabels() {
        List<String> allowed = List.of("track_order", "cancel_order");
        ClassifyOptions only = ClassifyOptions.builder().labels(allowed).build();
        ClassificationResult r = engine.classify("where is my parcel", only);
        checkResult(r, -1);
        assertTrue(allowed.contains(r.intent()), r.intent());
        for (LabelScore s : r.top()) {
            assertTrue(allowed.contains(s.label()), "top entry outside the allowed labels: " + s);
        }
        for (BatchItem it : engine.classifyBatch(List.of("cancel it please", "where is my stuff"), only)) {
            assertTrue(allowed.contains(it.resultOrThrow().intent()), it.toString());
        }
    }

    @Test
    void unknownAndEmptyLabelSets() {
        ClassifyOptions unknown = ClassifyOptions.builder().labels("track_order", "teleport_me").build();
        IntentException e = assertThrows(IntentException.class, () -> engine.classify("where is my parcel", unknown));
        assertCode(Status.UNKNOWN_LABEL, e);
        assertTrue(e.getMessage().contains("teleport_me"), e.getMessage());

        // A label set wrong for every query fails the whole batch call (intent.h).
        e = assertThrows(IntentException.class, () -> engine.classifyBatch(List.of("a", "b"), unknown));
        assertCode(Status.UNKNOWN_LABEL, e);
        assertTrue(e.getMessage().contains("teleport_me"), e.getMessage());

        ClassifyOptions none = ClassifyOptions.builder().labels(List.of()).build();
        assertCode(Status.EMPTY_LABEL_SET, assertThrows(IntentException.class, () -> engine.classify("where is my parcel", none)));

        List<String> tooMany = Collections.nCopies(5000, "track_order");
        ClassifyOptions many = ClassifyOptions.builder().labels(tooMany).build();
        assertCode(Status.INVALID_ARGUMENT, assertThrows(IntentException.class, () -> engine.classify("where is my parcel", many)));
    }

    @Test
    void topKAndThreshold() {
        checkResult(engine.classify("where is my parcel", ClassifyOptions.builder().topK(5).build()), 5);
        checkResult(engine.classify("where is my parcel", ClassifyOptions.builder().topK(1).build()), 1);

        // Nothing reaches probability 1 with a taxonomy of many labels: always the fallback.
        ClassificationResult r = engine.classify("where is my parcel", ClassifyOptions.builder().threshold(1f).build());
        assertTrue(r.fallback());
        assertEquals("out_of_scope", r.intent());
        r = engine.classify("where is my parcel", ClassifyOptions.builder().threshold(0f).build());
        assertFalse(r.fallback());

        for (int k : new int[] {0, -1}) {
            assertCode(Status.INVALID_ARGUMENT, assertThrows(IntentException.class, () -> ClassifyOptions.builder().topK(k)));
        }
        for (float t : new float[] {-0.5f, 1.5f, Float.NaN}) {
            assertCode(Status.INVALID_ARGUMENT, assertThrows(IntentException.class, () -> ClassifyOptions.builder().threshold(t)));
        }
    }

    @Test
    void utf8IsPassedThrough() {
        byte[] german = "wo ist mein Paket? \u00fc\u00f6\u00e4 \ud83d\udce6".getBytes(StandardCharsets.UTF_8);
        ClassificationResult a = engine.classify(german, ClassifyOptions.DEFAULT);
        ClassificationResult b = engine.classify(new String(german, StandardCharsets.UTF_8));
        checkResult(a, 3);
        assertEquals(a.intent(), b.intent());
        assertEquals(a.confidence(), b.confidence());
    }

    /** The queries of the soak tests of every binding: several languages, lengths and intents. */
    static final List<String> SOAK_QUERIES = readSoakQueries();

    static List<String> readSoakQueries() {
        try {
            return java.nio.file.Files.readAllLines(java.nio.file.Path.of("..", "soak-queries.txt"), StandardCharsets.UTF_8)
                    .stream().filter(l -> !l.isBlank()).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** This process's resident memory (VmRSS) in KiB. */
    static long residentKb() throws java.io.IOException {
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    /** Eight threads classify {@code perThread} queries each; returns every disagreement. */
    static List<String> soakRound(List<ClassificationResult> want, int perThread) throws Exception {
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<List<String>>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int g = t;
                Callable<List<String>> job = () -> {
                    List<String> problems = new ArrayList<>();
                    for (int i = 0; i < perThread; i++) {
                        int k = (g * 5 + i) % SOAK_QUERIES.size();
                        try {
                            ClassificationResult got = engine.classify(SOAK_QUERIES.get(k));
                            ClassificationResult w = want.get(k);
                            if (!got.intent().equals(w.intent()) || got.confidence() != w.confidence()) {
                                problems.add("thread " + g + ", \"" + SOAK_QUERIES.get(k) + "\": got " + got.intent()
                                        + " " + got.confidence() + ", sequential run gave " + w.intent() + " " + w.confidence());
                            }
                        } catch (RuntimeException e) {
                            problems.add("thread " + g + ", \"" + SOAK_QUERIES.get(k) + "\": " + e);
                        }
                    }
                    return problems;
                };
                futures.add(pool.submit(job));
            }
            List<String> problems = new ArrayList<>();
            for (Future<List<String>> f : futures) {
                problems.addAll(f.get(600, TimeUnit.SECONDS));
            }
            return problems;
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Soak: eight threads on one engine; every answer (label and confidence, exactly) equals
     * the sequential one, and resident memory grows less than 5% after warm-up. Queries per
     * thread: INTENT_SOAK_PER_WORKER, default 48 (CI).
     */
    @Test
    void soakConcurrentClassificationsMatchSequential() throws Exception {
        List<ClassificationResult> want = new ArrayList<>();
        for (String q : SOAK_QUERIES) {
            want.add(engine.classify(q));
        }
        String env = System.getenv("INTENT_SOAK_PER_WORKER");
        int perThread = env == null || env.isEmpty() ? 48 : Integer.parseInt(env);
        List<String> problems = soakRound(want, SOAK_QUERIES.size()); // warm-up
        System.gc();
        long before = residentKb();
        problems.addAll(soakRound(want, perThread));
        System.gc();
        long after = residentKb();
        double growth = (double) (after - before) / before;
        System.out.printf("soak: 8 threads x %d queries, RSS %d -> %d KiB (%+.2f%%)%n", perThread, before, after, growth * 100);
        if (!problems.isEmpty()) {
            fail(String.join("\n", problems));
        }
        assertTrue(growth < 0.05, "resident memory grew by " + growth * 100 + "% after warm-up (limit 5%)");
    }

    @Test
    void storefrontRoutesMessages() {
        Storefront shop = new Storefront(engine, 0.15f);
        List<String> messages = List.of("where is my parcel?", "I want to cancel my order", "");
        List<String> replies = shop.replies(messages);
        assertEquals(3, replies.size());
        assertNotNull(replies.get(0));
        assertNotNull(replies.get(1));
        assertNull(replies.get(2), "an empty message is ignored");
        // The routing itself: a fallback result always goes to a human.
        ClassificationResult fallback = engine.classify("where is my parcel", ClassifyOptions.builder().threshold(1f).build());
        assertEquals(Storefront.TO_HUMAN, shop.route(fallback));
        ClassificationResult sure = engine.classify("I want to cancel my order",
                ClassifyOptions.builder().labels("cancel_order").build());
        assertEquals("cancel_order", sure.intent());
        assertEquals(1f, sure.confidence(), 1e-6f);
        assertTrue(shop.route(sure).answer("", sure).contains("cancel"));
    }
}
