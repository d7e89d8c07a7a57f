package io.github.magmajava.cli;

import io.github.magmajava.text.Gpt2Tokenizer;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the GPT-2 token ids of a text (with <|image|> = 50257) as a JSON array.")
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--text", required = true, description = "The text to tokenize.")
    String text;

    @Override
    public Integer call() {
        int[] ids = Gpt2Tokenizer.load().encode(text);
        spec.commandLine().getOut().println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(", ", "[", "]")));
        return 0;
    }
}
