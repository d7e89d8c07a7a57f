package io.github.magmajava.quant;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How the language model's Linear weights are read at inference time. */
public enum WeightFormat {
    /** As stored in the checkpoint (fp16 for MAGMA), widened to float in registers. */
    FP16("fp16"),
    /**
     * Block-wise int8 ({@link Q8Quantizer}): half the bytes per decoded token. Made from the
     * checkpoint on first use and cached ({@link Q8Cache}).
     */
    Q8("q8");

    private final String cliName;

    WeightFormat(String cliName) {
        this.cliName = cliName;
    }

    /** The name the command line uses: {@code fp16} or {@code q8}. */
    public String cliName() {
        return cliName;
    }

    /**
     * @throws IllegalArgumentException naming the accepted values when {@code name} is none of them
     */
    public static WeightFormat parse(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(f -> f.cliName.equals(wanted)).findFirst().orElseThrow(
                () -> new IllegalArgumentException("unknown weight format '" + name + "'; expected one of "
                        + Arrays.stream(values()).map(WeightFormat::cliName).collect(Collectors.joining(", "))));
    }
}
