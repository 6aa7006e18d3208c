package dev.libintent;

import java.nio.file.Path;

/**
 * Options of {@link IntentEngine#open}. Unset options keep the library's defaults: the default
 * model ({@code $INTENT_MODEL}, then the library's default model), the built-in
 * {@code "ecommerce-v1"} taxonomy, all cores, top 3, no fallback threshold, 128-token queries.
 *
 * <pre>{@code
 * EngineOptions opts = EngineOptions.builder().threads(2).topK(5).build();
 * }</pre>
 */
public final class EngineOptions {
    final String backend;
    final String model;
    final String taxonomy;
    final String pluginPath;
    final Integer threads;
    final Integer topK;
    final Float threshold;
    final Integer maxQueryTokens;
    final Boolean truncate;
    final Integer maxBatch;
    final Integer maxParallel;

    private EngineOptions(Builder b) {
        backend = b.backend;
        model = b.model;
        taxonomy = b.taxonomy;
        pluginPath = b.pluginPath;
        threads = b.threads;
        topK = b.topK;
        threshold = b.threshold;
        maxQueryTokens = b.maxQueryTokens;
        truncate = b.truncate;
        maxBatch = b.maxBatch;
        maxParallel = b.maxParallel;
    }

    /** All defaults. */
    public static EngineOptions defaults() {
        return new Builder().build();
    }

    /** A builder with every option unset. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Builds {@link EngineOptions}. Strings may be null or empty to mean the default. Values are
     * checked by {@link IntentEngine#open} (errors are {@link IntentException}s with
     * {@link Status#INVALID_ARGUMENT}).
     */
    public static final class Builder {
        private String backend;
        private String model;
        private String taxonomy;
        private String pluginPath;
        private Integer threads;
        private Integer topK;
        private Float threshold;
        private Integer maxQueryTokens;
        private Boolean truncate;
        private Integer maxBatch;
        private Integer maxParallel;

        private Builder() {
        }

        /** Backend plugin name, e.g. {@code "gguf-cpu"}; default: the first usable one for the model. */
        public Builder backend(String backend) {
            this.backend = backend;
            return this;
        }

        /** Model file or directory; default: {@code $INTENT_MODEL}, then the library's default model. */
        public Builder model(String model) {
            this.model = model;
            return this;
        }

        /** Model file or directory. */
        public Builder model(Path model) {
            this.model = model == null ? null : model.toString();
            return this;
        }

        /** Built-in taxonomy name ({@code "ecommerce-v1"}) or a taxonomy JSON file. */
        public Builder taxonomy(String taxonomy) {
            this.taxonomy = taxonomy;
            return this;
        }

        /** Plugin file or directory searched before {@code $INTENT_PLUGIN_PATH} and the default places. */
        public Builder pluginPath(String pluginPath) {
            this.pluginPath = pluginPath;
            return this;
        }

        /** CPU threads per evaluation; 0: all cores (the default). */
        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        /** Labels reported with probabilities (default 3, at least 1). */
        public Builder topK(int topK) {
            this.topK = topK;
            return this;
        }

        /** Best-label probability under which the taxonomy's fallback label is returned (0: off, the default). */
        public Builder threshold(float threshold) {
            this.threshold = threshold;
            return this;
        }

        /** Longest query in tokens (default 128). */
        public Builder maxQueryTokens(int maxQueryTokens) {
            this.maxQueryTokens = maxQueryTokens;
            return this;
        }

        /** Truncate longer queries instead of refusing them with {@link Status#QUERY_TOO_LONG} (default false). */
        public Builder truncate(boolean truncate) {
            this.truncate = truncate;
            return this;
        }

        /** Queries evaluated together in one backend call (default 8). */
        public Builder maxBatch(int maxBatch) {
            this.maxBatch = maxBatch;
            return this;
        }

        /** Contexts evaluated in parallel for concurrent callers (default 1). */
        public Builder maxParallel(int maxParallel) {
            this.maxParallel = maxParallel;
            return this;
        }

        public EngineOptions build() {
            return new EngineOptions(this);
        }
    }
}
