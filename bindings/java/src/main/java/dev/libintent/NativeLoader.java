package dev.libintent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads the JNI library once, in this order:
 * <ol>
 * <li>the system property {@value #PATH_PROPERTY}: the full path of {@code libintent_jni.so}
 * (authoritative: no fallback when it is set);</li>
 * <li>{@code System.loadLibrary("intent_jni")}, searching {@code java.library.path};</li>
 * <li>the jar resource {@code /native/<os>-<arch>/libintent_jni.so}, extracted to a temporary file.</li>
 * </ol>
 * Then checks that libintent's ABI version is the one this binding was built for.
 * {@code libintent_jni.so} itself needs {@code libintent.so.1}, found by the dynamic linker
 * (its rpath, {@code LD_LIBRARY_PATH} or the system's library directories).
 */
final class NativeLoader {
    /** System property naming the JNI library's full path. */
    static final String PATH_PROPERTY = "libintent.jni.path";
    /** The name given to System.loadLibrary. */
    static final String LIBRARY_NAME = "intent_jni";

    private static boolean loaded;
    private static Throwable failure;

    private NativeLoader() {
    }

    /** Loads the library if needed; throws the same kind of error on every call if that failed. */
    static synchronized void ensureLoaded() {
        if (loaded) {
            return;
        }
        if (failure == null) {
            try {
                load();
                checkAbi(IntentNative.abiVersion(), IntentEngine.BINDING_ABI_VERSION);
                int header = IntentNative.headerAbiVersion();
                if (header != IntentEngine.BINDING_ABI_VERSION) {
                    throw new IllegalStateException("libintent_jni was compiled against intent.h of ABI " + header
                            + ", this binding expects ABI " + IntentEngine.BINDING_ABI_VERSION
                            + ": rebuild libintent_jni.so (scripts/test-java.sh)");
                }
                loaded = true;
                return;
            } catch (RuntimeException | LinkageError e) {
                failure = e;
                throw e;
            }
        }
        // Later calls: a fresh error of the same kind, with the original as cause.
        if (failure instanceof LinkageError) {
            UnsatisfiedLinkError e = new UnsatisfiedLinkError("libintent JNI library unavailable: " + failure.getMessage());
            e.initCause(failure);
            throw e;
        }
        throw new IllegalStateException(failure.getMessage(), failure);
    }

    /** Throws when the loaded libintent's ABI differs from the binding's. */
    static void checkAbi(int library, int binding) {
        if (library != binding) {
            throw new IllegalStateException("libintent ABI mismatch: the loaded library has ABI version " + library
                    + ", this Java binding was built for ABI version " + binding
                    + " (install libintent.so." + binding + " or use a binding built for ABI " + library + ")");
        }
    }

    /** "linux-x86_64" and the like: the folder of the bundled library in the jar. */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            os = "linux";
        } else if (os.startsWith("mac")) {
            os = "macos";
        }
        if (arch.equals("amd64") || arch.equals("x86_64")) {
            arch = "x86_64";
        } else if (arch.equals("arm64")) {
            arch = "aarch64";
        }
        return os + "-" + arch;
    }

    private static void load() {
        String path = System.getProperty(PATH_PROPERTY);
        if (path != null && !path.isEmpty()) {
            Path p = Path.of(path).toAbsolutePath();
            if (!Files.isRegularFile(p)) {
                throw new UnsatisfiedLinkError(PATH_PROPERTY + "=" + path + ": no such file");
            }
            System.load(p.toString());
            return;
        }
        UnsatisfiedLinkError fromLibraryPath;
        try {
            System.loadLibrary(LIBRARY_NAME);
            return;
        } catch (UnsatisfiedLinkError e) {
            fromLibraryPath = e;
        }
        String resource = "/native/" + platform() + "/" + System.mapLibraryName(LIBRARY_NAME);
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                UnsatisfiedLinkError e = new UnsatisfiedLinkError("libintent JNI library not found: set -D"
                        + PATH_PROPERTY + "=/path/to/libintent_jni.so, put it on java.library.path ("
                        + fromLibraryPath.getMessage() + "), or bundle it as the jar resource " + resource);
                e.initCause(fromLibraryPath);
                throw e;
            }
            Path tmp = Files.createTempFile("libintent_jni", ".so");
            try {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                System.load(tmp.toString());
            } finally {
                Files.deleteIfExists(tmp); // the loaded mapping stays valid on Linux
            }
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("extracting " + resource + ": " + e);
            err.initCause(e);
            throw err;
        }
    }
}
