package dev.libintent;

/**
 * A libintent status code, mirroring {@code INTENT_STATUS_*} of {@code include/intent.h}.
 * The library never renumbers its codes; {@link #code()} is the C value.
 */
public enum Status {
    /** Success. */
    OK(0),
    /** A required argument was missing or malformed (bad option, out-of-range value). */
    INVALID_ARGUMENT(1),
    /** Text was not valid UTF-8. */
    INVALID_UTF8(2),
    /** The query was empty or only whitespace. */
    EMPTY_QUERY(3),
    /** The query was longer than the configured limit (and truncation was off). */
    QUERY_TOO_LONG(4),
    /** A label was not in the engine's taxonomy. */
    UNKNOWN_LABEL(5),
    /** The allowed label set was empty. */
    EMPTY_LABEL_SET(6),
    /** A taxonomy could not be read or was malformed. */
    INVALID_TAXONOMY(7),
    /** The model file or directory does not exist. */
    MODEL_NOT_FOUND(8),
    /** The model file is truncated, corrupt or not a model. */
    INVALID_MODEL(9),
    /** The model is valid but no backend supports its architecture or format. */
    UNSUPPORTED_MODEL(10),
    /** No backend plugin with the requested name (or for this model) was found. */
    PLUGIN_NOT_FOUND(11),
    /** A plugin was built for another plugin ABI major version. */
    PLUGIN_ABI_MISMATCH(12),
    /** A plugin cannot run on this machine (for example: no CUDA device). */
    PLUGIN_UNAVAILABLE(13),
    /** The backend failed while evaluating. */
    BACKEND(14),
    /** Memory could not be allocated, or a request exceeds a configured limit. */
    OUT_OF_MEMORY(15),
    /** An internal error inside libintent. */
    INTERNAL(16),
    /** A file could not be read or written. */
    IO(17),
    /** The handle was already closed. */
    CLOSED(18);

    private static final Status[] BY_CODE = values();

    private final int code;

    Status(int code) {
        this.code = code;
    }

    /** The C value of this status ({@code INTENT_STATUS_*}). */
    public int code() {
        return code;
    }

    /** The library's short text for this code ({@code intent_status_str}); loads the native library. */
    public String description() {
        NativeLoader.ensureLoaded();
        return IntentNative.statusText(code);
    }

    /**
     * The status with the given C value, or {@code null} for a code this binding does not know
     * (a newer library may add codes).
     */
    public static Status fromCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
