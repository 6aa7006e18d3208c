package dev.libintent;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An open libintent engine: a model, a taxonomy and the cached prompt.
 *
 * <pre>{@code
 * try (IntentEngine engine = IntentEngine.open(EngineOptions.defaults())) {
 *     ClassificationResult r = engine.classify("where is my parcel?");
 *     System.out.println(r.intent() + " " + r.confidence());
 * }
 * }</pre>
 *
 * <p>Opening takes a couple of seconds (the model is loaded once); share one engine between
 * threads: every method is thread-safe. {@link #close()} waits for calls in flight, frees the
 * native engine and is idempotent; any other method of a closed engine throws
 * {@link IllegalStateException}. A {@link Cleaner} frees an engine that becomes unreachable
 * without being closed, but close engines explicitly: the JVM does not see the ~100 MB of
 * native memory an engine holds.
 */
public final class IntentEngine implements AutoCloseable {
    /** {@code INTENT_ABI_VERSION} this binding was written for. */
    public static final int BINDING_ABI_VERSION = 1;

    private static final Cleaner CLEANER = Cleaner.create();

    /** Native engines freed so far (by close or by the Cleaner); for tests. */
    static final AtomicInteger FREED = new AtomicInteger();

    /** The native handle; the Cleaner's action. Must not refer to the IntentEngine. */
    private static final class Handle implements Runnable {
        private volatile long engine;

        Handle(long engine) {
            this.engine = engine;
        }

        @Override
        public void run() {
            long e;
            synchronized (this) {
                e = engine;
                engine = 0;
            }
            if (e != 0) {
                IntentNative.engineFree(e);
                FREED.incrementAndGet();
            }
        }
    }

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Handle handle;
    private final Cleaner.Cleanable cleanable;
    private final List<String> labels;
    private boolean closed; // guarded by lock

    private IntentEngine(long engine, List<String> labels) {
        this.labels = labels;
        this.handle = new Handle(engine);
        this.cleanable = CLEANER.register(this, handle); // last: nothing after it can fail
    }

    /** Opens an engine with all defaults. */
    public static IntentEngine open() {
        return open(EngineOptions.defaults());
    }

    /**
     * Loads a model and a taxonomy and returns a ready engine.
     *
     * @throws IntentException for example {@link Status#MODEL_NOT_FOUND} (the message names the
     *                         path), {@link Status#PLUGIN_NOT_FOUND}, {@link Status#INVALID_ARGUMENT}
     * @throws IllegalStateException when the installed libintent has another ABI version
     * @throws UnsatisfiedLinkError  when the JNI library cannot be loaded
     */
    public static IntentEngine open(EngineOptions options) {
        Objects.requireNonNull(options, "options");
        NativeLoader.ensureLoaded();
        int mask = 0;
        int threads = 0, topK = 0, maxQueryTokens = 0, maxBatch = 0, maxParallel = 0;
        float threshold = 0f;
        boolean truncate = false;
        if (options.threads != null) {
            mask |= IntentNative.SET_THREADS;
            threads = options.threads;
        }
        if (options.topK != null) {
            mask |= IntentNative.SET_TOP_K;
            topK = unsigned("topK", options.topK);
        }
        if (options.threshold != null) {
            if (Float.isNaN(options.threshold)) {
                throw new IntentException(Status.INVALID_ARGUMENT, "threshold must be between 0 and 1, got NaN");
            }
            mask |= IntentNative.SET_THRESHOLD;
            threshold = options.threshold;
        }
        if (options.maxQueryTokens != null) {
            mask |= IntentNative.SET_MAX_QUERY_TOKENS;
            maxQueryTokens = unsigned("maxQueryTokens", options.maxQueryTokens);
        }
        if (options.truncate != null) {
            mask |= IntentNative.SET_TRUNCATE;
            truncate = options.truncate;
        }
        if (options.maxBatch != null) {
            mask |= IntentNative.SET_MAX_BATCH;
            maxBatch = unsigned("maxBatch", options.maxBatch);
        }
        if (options.maxParallel != null) {
            mask |= IntentNative.SET_MAX_PARALLEL;
            maxParallel = unsigned("maxParallel", options.maxParallel);
        }
        long engine = IntentNative.engineOpen(cString("backend", options.backend), cString("model", options.model),
                cString("taxonomy", options.taxonomy), cString("pluginPath", options.pluginPath), mask, threads, topK,
                threshold, maxQueryTokens, truncate, maxBatch, maxParallel);
        try {
            List<String> labels = Collections.unmodifiableList(Arrays.asList(IntentNative.labels(engine)));
            return new IntentEngine(engine, labels);
        } catch (RuntimeException | Error e) {
            IntentNative.engineFree(engine);
            throw e;
        }
    }

    private static int unsigned(String name, int v) {
        if (v < 0) {
            throw new IntentException(Status.INVALID_ARGUMENT, name + " must not be negative, got " + v);
        }
        return v;
    }

    /** UTF-8 bytes of a path or name for C (NUL-terminated there); null or "" means the default. */
    private static byte[] cString(String name, String s) {
        if (s == null || s.isEmpty()) {
            return null;
        }
        if (s.indexOf('\0') >= 0) {
            throw new IntentException(Status.INVALID_ARGUMENT, name + " contains a NUL character");
        }
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The loaded library's version, "MAJOR.MINOR.PATCH". */
    public static String version() {
        NativeLoader.ensureLoaded();
        return IntentNative.version();
    }

    /** The loaded library's ABI version ({@code intent_abi_version()}). */
    public static int abiVersion() {
        NativeLoader.ensureLoaded();
        return IntentNative.abiVersion();
    }

    /** The taxonomy's labels in their stable order (unmodifiable). */
    public List<String> labels() {
        lock.readLock().lock();
        try {
            ensureOpen();
            return labels;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Classifies one query with the engine's settings. */
    public ClassificationResult classify(String text) {
        return classify(text, ClassifyOptions.DEFAULT);
    }

    /**
     * Classifies one query. A Java string always encodes to valid UTF-8 (unpaired surrogates
     * become '?'); use {@link #classify(byte[], ClassifyOptions)} to pass raw bytes.
     *
     * @throws IntentException {@link Status#EMPTY_QUERY}, {@link Status#QUERY_TOO_LONG},
     *                         {@link Status#UNKNOWN_LABEL}... with the library's message
     */
    public ClassificationResult classify(String text, ClassifyOptions options) {
        Objects.requireNonNull(text, "text");
        return classify(text.getBytes(StandardCharsets.UTF_8), options);
    }

    /**
     * Classifies one query given as UTF-8 bytes, passed to the library unchanged (invalid
     * UTF-8 fails with {@link Status#INVALID_UTF8}).
     */
    public ClassificationResult classify(byte[] utf8, ClassifyOptions options) {
        Objects.requireNonNull(utf8, "utf8");
        ClassifyOptions o = options == null ? ClassifyOptions.DEFAULT : options;
        lock.readLock().lock();
        try {
            ensureOpen();
            return IntentNative.classify(handle.engine, utf8, !o.isDefault(), o.labelBytes, o.topK, o.threshold);
        } finally {
            lock.readLock().unlock();
            Reference.reachabilityFence(this); // the Cleaner must not free the engine mid-call
        }
    }

    /** Classifies several queries together with the engine's settings. */
    public List<BatchItem> classifyBatch(List<String> texts) {
        return classifyBatch(texts, ClassifyOptions.DEFAULT);
    }

    /**
     * Classifies several queries, evaluated together (faster than one call each). Returns one
     * item per query, in order: a bad query (empty, too long...) gets its own error and does not
     * fail the others. The call itself throws only when the batch as a whole is refused (bad
     * options such as an unknown label, more than 65536 queries).
     */
    public List<BatchItem> classifyBatch(List<String> texts, ClassifyOptions options) {
        Objects.requireNonNull(texts, "texts");
        List<byte[]> bytes = new ArrayList<>(texts.size());
        for (String t : texts) {
            bytes.add(Objects.requireNonNull(t, "null text in batch").getBytes(StandardCharsets.UTF_8));
        }
        return classifyBatchUtf8(bytes, options);
    }

    /** Like {@link #classifyBatch(List, ClassifyOptions)}, with queries as raw UTF-8 bytes. */
    public List<BatchItem> classifyBatchUtf8(List<byte[]> texts, ClassifyOptions options) {
        Objects.requireNonNull(texts, "texts");
        byte[][] arr = texts.toArray(new byte[0][]);
        for (byte[] t : arr) {
            Objects.requireNonNull(t, "null text in batch");
        }
        ClassifyOptions o = options == null ? ClassifyOptions.DEFAULT : options;
        Object[] items;
        lock.readLock().lock();
        try {
            ensureOpen();
            items = IntentNative.classifyBatch(handle.engine, arr, !o.isDefault(), o.labelBytes, o.topK, o.threshold);
        } finally {
            lock.readLock().unlock();
            Reference.reachabilityFence(this);
        }
        List<BatchItem> out = new ArrayList<>(items.length);
        for (Object item : items) {
            out.add(BatchItem.of(item));
        }
        return Collections.unmodifiableList(out);
    }

    /** True once {@link #close()} has been called. */
    public boolean isClosed() {
        lock.readLock().lock();
        try {
            return closed;
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Frees the native engine after waiting for calls in flight on other threads. Idempotent.
     * Do not call it from a thread that is inside a call on this engine.
     */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            cleanable.clean(); // runs Handle.run once, and unregisters it from the Cleaner
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the IntentEngine is closed");
        }
    }
}
