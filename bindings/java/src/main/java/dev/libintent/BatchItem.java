package dev.libintent;

import java.util.Objects;

/**
 * The outcome of one query of {@link IntentEngine#classifyBatch}: exactly one of
 * {@link #result()} and {@link #error()} is non-null.
 */
public final class BatchItem {
    private final ClassificationResult result;
    private final IntentException error;

    private BatchItem(ClassificationResult result, IntentException error) {
        this.result = result;
        this.error = error;
    }

    static BatchItem of(Object nativeItem) {
        if (nativeItem instanceof ClassificationResult r) {
            return new BatchItem(r, null);
        }
        if (nativeItem instanceof IntentException e) {
            return new BatchItem(null, e);
        }
        throw new IllegalStateException("unexpected batch item from the JNI glue: " + nativeItem);
    }

    /** True when the query was answered. */
    public boolean isOk() {
        return result != null;
    }

    /** The answer, or null when the query failed. */
    public ClassificationResult result() {
        return result;
    }

    /** Why the query failed, or null when it was answered. */
    public IntentException error() {
        return error;
    }

    /** The answer; throws {@link #error()} when the query failed. */
    public ClassificationResult resultOrThrow() {
        if (error != null) {
            throw error;
        }
        return Objects.requireNonNull(result);
    }

    @Override
    public String toString() {
        return result != null ? "BatchItem[" + result + "]" : "BatchItem[" + error + "]";
    }
}
