package io.github.magmajava.cli;

import io.github.magmajava.ipu.ExecutionPlan;
import io.github.magmajava.ipu.Planner;
import io.github.magmajava.quant.WeightFormat;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code magma plan}: the IPU backend's memory plan for a config, without a checkpoint. */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = "Lay a model out on devices as the ipu backend would: bytes per device per phase (weights, activations,"
                + " KV cache), remote memory, bytes streamed per token. Exits 1 when a phase does not fit its device.")
final class PlanCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    ConfigChoice config;

    @Mixin
    DeviceOptions layout;

    @Option(names = "--weights", defaultValue = "fp16", converter = OptionValues.Weights.class,
            description = "fp16 (as stored) or q8 (int8 blocks) for the language model's Linear weights (default: ${DEFAULT-VALUE}).")
    WeightFormat weights;

    @Option(names = "--json", description = "Print the plan as JSON.")
    boolean json;

    @Override
    public Integer call() {
        ExecutionPlan plan;
        try {
            plan = Planner.plan(config.resolve(), layout.ipuOptions(), weights, layout.sequenceMode);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        CliOutput out = CliOutput.out(spec);
        out.print(json ? plan.toJson() + System.lineSeparator() : plan.table());
        if (!plan.fits()) {
            spec.commandLine().getErr().println("magma: " + plan.refusal().orElseThrow());
            return 1;
        }
        return 0;
    }
}
