package dev.libintent;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The answer for one query. Plain Java data: nothing to free or close. */
public final class ClassificationResult {
    private final String intent;
    private final float confidence;
    private final boolean fallback;
    private final List<LabelScore> top;
    private final Timings timings;
    private final long queryTokens;
    private final boolean truncated;

    /** Built by the JNI glue (see RESULT_CTOR_SIG in intent_jni.c). */
    ClassificationResult(String intent, float confidence, boolean fallback, String[] topLabels,
                         float[] topProbabilities, long[] timings, long queryTokens, boolean truncated) {
        this.intent = intent;
        this.confidence = confidence;
        this.fallback = fallback;
        List<LabelScore> t = new ArrayList<>(topLabels.length);
        for (int i = 0; i < topLabels.length; i++) {
            t.add(new LabelScore(topLabels[i], topProbabilities[i]));
        }
        this.top = Collections.unmodifiableList(t);
        this.timings = new Timings(timings[0], timings[1], timings[2], timings[3], (int) timings[4]);
        this.queryTokens = queryTokens;
        this.truncated = truncated;
    }

    /** The chosen label (the taxonomy's fallback label when {@link #fallback()} is true). */
    public String intent() {
        return intent;
    }

    /** Probability of the most probable allowed label, in (0, 1]. */
    public float confidence() {
        return confidence;
    }

    /** True when {@link #intent()} is the fallback label because the confidence was under the threshold. */
    public boolean fallback() {
        return fallback;
    }

    /** The most probable labels with their probabilities, best first (unmodifiable). */
    public List<LabelScore> top() {
        return top;
    }

    /** Timings of this classification. */
    public Timings timings() {
        return timings;
    }

    /** Tokens of the query as evaluated (after truncation, if any). */
    public long queryTokens() {
        return queryTokens;
    }

    /** True when the query was cut to the engine's limit ({@link EngineOptions.Builder#truncate}). */
    public boolean truncated() {
        return truncated;
    }

    @Override
    public String toString() {
        return "ClassificationResult[intent=" + intent + ", confidence=" + confidence + ", fallback=" + fallback
                + ", top=" + top + ", timings=" + timings + "]";
    }
}
