package example;

import io.github.magmajava.text.Gpt2Tokenizer;
import java.util.Arrays;

/** GPT-2 token ids of the arguments: {@code java -cp ... example.Tokenize "some text"} (no JVM flags needed). */
public final class Tokenize {
    public static void main(String[] args) {
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.load();
        int[] ids = tokenizer.encode(String.join(" ", args));
        System.out.println(Arrays.toString(ids) + " " + tokenizer.decode(ids));
    }
}
