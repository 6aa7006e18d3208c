package dev.libintent;

/**
 * A libintent failure: the library's status {@link #code()} and its message for this failure
 * ({@link #getMessage()}, which names for example the missing model path or the unknown label).
 */
public class IntentException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int rawCode;

    /** An exception with the given status and message. */
    public IntentException(Status code, String message) {
        this(code.code(), message);
    }

    /** Called by the JNI glue with the library's raw status code. */
    IntentException(int rawCode, String message) {
        super(message == null ? "" : message);
        this.rawCode = rawCode;
    }

    /**
     * The status code. A code this binding does not know (from a newer library) reads as
     * {@link Status#INTERNAL}; {@link #rawCode()} has the number.
     */
    public Status code() {
        Status s = Status.fromCode(rawCode);
        return s != null ? s : Status.INTERNAL;
    }

    /** The status code as the library returned it ({@code INTENT_STATUS_*}). */
    public int rawCode() {
        return rawCode;
    }

    @Override
    public String toString() {
        Status s = Status.fromCode(rawCode);
        String name = s != null ? s.name() : "STATUS_" + rawCode;
        return getClass().getName() + ": " + name + ": " + getMessage();
    }
}
