package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where a command will write is checked before any work, and a path that cannot be written is
 * refused with the operating system's reason. The inputs here do not exist: the output is checked first.
 */
class OutputPathsTest {
    @TempDir
    Path dir;

    private MagmaCliTest.Result generateDumpingTo(Path dumpDir) {
        return MagmaCliTest.run("generate", "--checkpoint", dir.resolve("absent.pt").toString(), "--image",
                dir.resolve("absent.png").toString(), "--prompt", "A", "--dump-dir", dumpDir.toString());
    }

    @Test
    void aDumpDirectoryUnderAFileIsRefusedBeforeLoading() throws Exception {
        Path file = Files.writeString(dir.resolve("notes.txt"), "x");
        MagmaCliTest.Result r = generateDumpingTo(file.resolve("dumps"));
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("magma: --dump-dir " + file.resolve("dumps") + ": cannot create directory: Not a directory\n");
    }

    @Test
    void aDumpDirectoryThatIsAFileIsRefused() throws Exception {
        Path file = Files.writeString(dir.resolve("notes.txt"), "x");
        MagmaCliTest.Result r = generateDumpingTo(file);
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("magma: --dump-dir " + file + ": not a directory\n");
    }

    /** The case of the report: /proc takes no new directories. */
    @Test
    void aDumpDirectoryInProcIsRefusedWithTheReason() {
        assumeTrue(Files.isDirectory(Path.of("/proc/self")), "Linux /proc");
        MagmaCliTest.Result r = generateDumpingTo(Path.of("/proc/foo"));
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("magma: --dump-dir /proc/foo: cannot create directory: ").doesNotContain("absent");
        assertThat(r.err().strip()).doesNotEndWith(":").doesNotContain("\n");
    }

    @Test
    void aDumpDirectoryIsCreatedWhenMissing() {
        Path dumps = dir.resolve("a/b");
        MagmaCliTest.Result r = generateDumpingTo(dumps);
        assertThat(dumps).isDirectory().isEmptyDirectory();
        assertThat(r.err()).as("the next fault is the checkpoint").contains("absent.pt");
    }

    @Test
    void preprocessRefusesAnOutputItCannotWriteBeforeReadingTheImage() throws Exception {
        Path image = dir.resolve("absent.png").toAbsolutePath();
        Path missing = dir.resolve("missing/x.npy");
        MagmaCliTest.Result r = MagmaCliTest.run("preprocess", "--image", image.toString(), "--out", missing.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("magma: --out " + missing + ": cannot create files in " + missing.getParent()
                + ": No such file or directory\n");

        r = MagmaCliTest.run("preprocess", "--image", image.toString(), "--out", dir.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("magma: --out " + dir + ": is a directory\n");

        r = MagmaCliTest.run("preprocess", "--image", image.toString(), "--out", "/dev/null");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("magma: --out /dev/null: not a regular file");
    }
}
