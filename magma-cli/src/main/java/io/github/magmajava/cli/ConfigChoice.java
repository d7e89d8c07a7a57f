package io.github.magmajava.cli;

import io.github.magmajava.config.MagmaConfig;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --config PRESET | --model-config FILE}: an exclusive group shared by the commands that load or plan a model. */
final class ConfigChoice {
    @Option(names = "--config", converter = OptionValues.Preset.class,
            description = "A preset: magma_v1_500 or magma_v1_1024 (default: detected from the shapes).")
    MagmaConfig preset;

    @Option(names = "--model-config", description = "A model config JSON file (tiny test models).")
    Path file;

    MagmaConfig resolve() {
        return preset != null ? preset : MagmaConfig.fromJson(file);
    }
}
