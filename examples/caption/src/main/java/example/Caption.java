package example;

import io.github.magmajava.Magma;
import io.github.magmajava.config.MagmaConfig;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Captions an image:
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp ... example.Caption CHECKPOINT IMAGE [PROMPT] [MODEL_CONFIG.json]}.
 */
public final class Caption {
    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: example.Caption CHECKPOINT IMAGE [PROMPT] [MODEL_CONFIG.json]");
            System.exit(2);
        }
        Magma.Builder model = Magma.builder(Path.of(args[0]));
        if (args.length > 3) {
            model.config(MagmaConfig.fromJson(Path.of(args[3])));
        }
        try (Magma magma = model.load()) {
            System.out.println(magma.generate(Path.of(args[1]), args.length > 2 ? args[2] : "A picture of").text());
        } catch (IOException | RuntimeException e) {
            // magma's exceptions say what is wrong, and with which file, in one line
            System.err.println("caption: " + e.getMessage());
            System.exit(1);
        }
    }
}
