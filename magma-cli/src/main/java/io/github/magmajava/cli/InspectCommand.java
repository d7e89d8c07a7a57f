package io.github.magmajava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.io.SafetensorsFile;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.io.TensorFile;
import io.github.magmajava.io.TensorFiles;
import io.github.magmajava.weights.MagmaWeights;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "List every tensor of a checkpoint's state dict (torch.save zip or safetensors): name, dtype, shape.")
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "CHECKPOINT", description = "A torch.save (.pt) or .safetensors file.")
    Path checkpoint;

    @Option(names = "--json", description = "Print a JSON array of {\"name\", \"dtype\", \"shape\"}.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (TensorFile file = TensorFiles.open(checkpoint)) {
            Map<String, Tensor> tensors = file.tensors();
            if (json) {
                ObjectMapper mapper = new ObjectMapper();
                ArrayNode array = mapper.createArrayNode();
                for (Tensor t : tensors.values()) {
                    ObjectNode node = array.addObject();
                    node.put("name", t.name());
                    node.put("dtype", t.dtype().torchName());
                    ArrayNode shape = node.putArray("shape");
                    Arrays.stream(t.shape()).forEach(shape::add);
                }
                out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(array));
                return 0;
            }
            int width = tensors.keySet().stream().mapToInt(String::length).max().orElse(4);
            out.printf("%-" + width + "s  %-8s  %s%n", "name", "dtype", "shape");
            for (Tensor t : tensors.values()) {
                out.printf("%-" + width + "s  %-8s  %s%n", t.name(), t.dtype().torchName(), Arrays.toString(t.shape()));
            }
            boolean named = file instanceof SafetensorsFile s && s.metadata().containsKey(MagmaConfig.METADATA_KEY);
            Optional<MagmaConfig> config = MagmaWeights.detectConfig(file);
            out.println();
            out.printf("%d tensors, %s of tensor data (shared storages counted once)%n", tensors.size(), CliFormat.bytes(distinctBytes(tensors)));
            out.println("config: " + config.map(c -> c.name() + (named ? " (from the file's metadata, written by convert)"
                            : " (shapes match the preset; magma_v1_500 has the same shapes)"))
                    .orElse("no preset matches these shapes; pass --model-config FILE.json to generate"));
        }
        return 0;
    }

    /** Aliases (e.g. word_embedding.weight) are views of the same bytes: count each region once. */
    private static long distinctBytes(Map<String, Tensor> tensors) {
        Set<String> seen = new HashSet<>();
        long total = 0;
        for (Tensor t : tensors.values()) {
            if (seen.add(t.data().address() + ":" + t.data().byteSize())) {
                total += t.data().byteSize();
            }
        }
        return total;
    }
}
