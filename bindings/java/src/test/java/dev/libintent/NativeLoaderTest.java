package dev.libintent;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NativeLoaderTest {
    @Test
    void loadsAndMatchesTheAbi() {
        assertDoesNotThrow(NativeLoader::ensureLoaded);
        assertEquals(IntentEngine.BINDING_ABI_VERSION, IntentNative.abiVersion());
        assertEquals(IntentEngine.BINDING_ABI_VERSION, IntentNative.headerAbiVersion());
    }

    @Test
    void abiMismatchNamesBothVersions() {
        assertDoesNotThrow(() -> NativeLoader.checkAbi(1, 1));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> NativeLoader.checkAbi(2, 1));
        assertTrue(e.getMessage().contains("ABI version 2"), e.getMessage());
        assertTrue(e.getMessage().contains("ABI version 1"), e.getMessage());
    }

    @Test
    void platformName() {
        String p = NativeLoader.platform();
        assertTrue(p.matches("[a-z]+-[a-z0-9_]+"), p);
        if (System.getProperty("os.arch").equals("amd64")) {
            assertEquals("linux-x86_64", p);
        }
    }
}
