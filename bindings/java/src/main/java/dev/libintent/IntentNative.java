package dev.libintent;

/**
 * The native methods implemented by {@code src/main/c/intent_jni.c}. Strings cross as UTF-8
 * byte arrays. Callers must have called {@link NativeLoader#ensureLoaded()}.
 */
final class IntentNative {
    /** Bits of engineOpen's setMask: which numeric options are set (others keep the library default). */
    static final int SET_THREADS = 0x01;
    static final int SET_TOP_K = 0x02;
    static final int SET_THRESHOLD = 0x04;
    static final int SET_MAX_QUERY_TOKENS = 0x08;
    static final int SET_TRUNCATE = 0x10;
    static final int SET_MAX_BATCH = 0x20;
    static final int SET_MAX_PARALLEL = 0x40;

    private IntentNative() {
    }

    /** intent_abi_version() of the loaded libintent. */
    static native int abiVersion();

    /** INTENT_ABI_VERSION of the header the JNI glue was compiled against. */
    static native int headerAbiVersion();

    static native String version();

    static native String statusText(int code);

    /** Returns the engine handle; throws IntentException on failure. */
    static native long engineOpen(byte[] backend, byte[] model, byte[] taxonomy, byte[] pluginPath, int setMask,
                                  int threads, int topK, float threshold, int maxQueryTokens, boolean truncate,
                                  int maxBatch, int maxParallel);

    static native void engineFree(long engine);

    static native String[] labels(long engine);

    /** labels null: all labels; topK 0: the engine's; threshold negative: the engine's. */
    static native ClassificationResult classify(long engine, byte[] utf8, boolean hasParams, byte[][] labels,
                                                int topK, float threshold);

    /** Each element is a ClassificationResult or an IntentException (not thrown). */
    static native Object[] classifyBatch(long engine, byte[][] texts, boolean hasParams, byte[][] labels, int topK,
                                         float threshold);
}
