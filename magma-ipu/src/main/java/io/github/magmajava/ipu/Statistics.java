package io.github.magmajava.ipu;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What an {@link IpuBackend} did: per phase, runs, bytes staged and time; all-reduces. Thread-safe. */
public final class Statistics {
    private final ExecutionPlan plan;
    private final Map<String, long[]> phases = new LinkedHashMap<>();
    private long allReduces;
    private long allReduceNanos;

    Statistics(ExecutionPlan plan) {
        this.plan = plan;
        reset();
    }

    /** One phase's totals: {@code stagedBytes} over every device. */
    public record PhaseTotals(String phase, long runs, long stagedBytes, Duration staging, Duration compute) {
    }

    /** @param allReduceTime included in the phases' compute time */
    public record Snapshot(List<PhaseTotals> phases, long allReduces, Duration allReduceTime) {
        public long stagedBytes() {
            return phases.stream().mapToLong(PhaseTotals::stagedBytes).sum();
        }
    }

    synchronized void reset() {
        phases.clear();
        for (PhasePlan p : plan.phases()) {
            phases.put(p.name(), new long[4]);
        }
        allReduces = 0;
        allReduceNanos = 0;
    }

    synchronized void phase(PhasePlan p, long stagingNanos, long computeNanos) {
        long[] t = phases.get(p.name());
        t[0]++;
        t[1] += p.stagedBytes();
        t[2] += stagingNanos;
        t[3] += computeNanos;
    }

    synchronized void allReduce(long nanos) {
        allReduces++;
        allReduceNanos += nanos;
    }

    synchronized Snapshot snapshot() {
        List<PhaseTotals> list = new ArrayList<>();
        phases.forEach((name, t) -> list.add(new PhaseTotals(name, t[0], t[1], Duration.ofNanos(t[2]), Duration.ofNanos(t[3]))));
        return new Snapshot(List.copyOf(list), allReduces, Duration.ofNanos(allReduceNanos));
    }
}
