package dev.libintent;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * Per-call options of {@link IntentEngine#classify} and {@link IntentEngine#classifyBatch}.
 * Immutable; {@link #DEFAULT} uses the engine's settings and all labels.
 *
 * <pre>{@code
 * ClassifyOptions onlyOrders = ClassifyOptions.builder().labels("track_order", "cancel_order").build();
 * }</pre>
 */
public final class ClassifyOptions {
    /** All labels, the engine's top-k and threshold. */
    public static final ClassifyOptions DEFAULT = new Builder().build();

    private final List<String> labels;   // null: all labels
    final byte[][] labelBytes;           // the same, as UTF-8 for the JNI glue
    final int topK;                      // 0: the engine's
    final float threshold;               // negative: the engine's

    private ClassifyOptions(Builder b) {
        labels = b.labels == null ? null : Collections.unmodifiableList(new ArrayList<>(b.labels));
        if (labels != null) {
            labelBytes = new byte[labels.size()][];
            for (int i = 0; i < labelBytes.length; i++) {
                labelBytes[i] = labels.get(i).getBytes(StandardCharsets.UTF_8);
            }
        } else {
            labelBytes = null;
        }
        topK = b.topK;
        threshold = b.threshold;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** True when these options are all defaults (the library then gets no params at all). */
    boolean isDefault() {
        return labels == null && topK == 0 && threshold < 0;
    }

    /** The allowed labels, or null for all labels of the taxonomy. */
    public List<String> labels() {
        return labels;
    }

    /** The top-k of this call, or 0 for the engine's setting. */
    public int topK() {
        return topK;
    }

    /** The fallback threshold of this call, or a negative value for the engine's setting. */
    public float threshold() {
        return threshold;
    }

    /** Builds {@link ClassifyOptions}; setters check their argument at once. */
    public static final class Builder {
        private List<String> labels;
        private int topK;
        private float threshold = -1f;

        private Builder() {
        }

        /**
         * Restricts the answer to these labels of the taxonomy. A label outside the taxonomy fails
         * the call with {@link Status#UNKNOWN_LABEL}; an empty list with {@link Status#EMPTY_LABEL_SET}.
         */
        public Builder labels(Collection<String> labels) {
            Objects.requireNonNull(labels, "labels");
            List<String> copy = new ArrayList<>(labels.size());
            for (String l : labels) {
                copy.add(Objects.requireNonNull(l, "null label"));
            }
            this.labels = copy;
            return this;
        }

        /** Restricts the answer to these labels of the taxonomy. */
        public Builder labels(String... labels) {
            return labels(Arrays.asList(Objects.requireNonNull(labels, "labels")));
        }

        /** Labels reported in {@link ClassificationResult#top()} for this call (at least 1). */
        public Builder topK(int topK) {
            if (topK < 1) {
                // 0 would silently mean "the engine's setting" in C.
                throw new IntentException(Status.INVALID_ARGUMENT, "topK must be at least 1, got " + topK);
            }
            this.topK = topK;
            return this;
        }

        /** Fallback threshold for this call, between 0 (off) and 1. */
        public Builder threshold(float threshold) {
            if (!(threshold >= 0f && threshold <= 1f)) {
                // A negative value would silently mean "the engine's setting" in C; NaN is refused too.
                throw new IntentException(Status.INVALID_ARGUMENT,
                        "threshold must be between 0 and 1, got " + threshold);
            }
            this.threshold = threshold;
            return this;
        }

        public ClassifyOptions build() {
            return new ClassifyOptions(this);
        }
    }
}
