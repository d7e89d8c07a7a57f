package io.github.magmajava.spark;

import io.github.magmajava.Magma;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The models loaded in this JVM, one per {@link ModelSpec}: an executor's tasks share it (the
 * checkpoint mapped once, their generations batched together by {@link Magma}), it is loaded by the
 * first task that needs it and closed when the JVM shuts down.
 *
 * <p>This is the project's one piece of JVM-wide state, on purpose: Spark gives a task no
 * executor-scoped object to hang a model on, and loading per task or per partition would map and
 * prepare the weights again for each.
 */
public final class ExecutorModels {
    private static final Map<ModelSpec, Slot> MODELS = new ConcurrentHashMap<>();
    private static final AtomicLong LOADS = new AtomicLong();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeAll, "magma-spark-close-models"));
    }

    private ExecutorModels() {
    }

    /** The model of {@code spec}, loaded now by the first caller; later callers wait for that load and share it. */
    static Magma acquire(ModelSpec spec, String executor) throws IOException {
        return MODELS.computeIfAbsent(spec, s -> new Slot()).get(spec, executor);
    }

    /** Models loaded by this JVM so far (a test's check that tasks share one). */
    public static long loads() {
        return LOADS.get();
    }

    /** Closes every loaded model: at shutdown, or when a test or an embedding application wants the memory back. */
    public static void closeAll() {
        for (var it = MODELS.values().iterator(); it.hasNext(); ) {
            Slot slot = it.next();
            it.remove();
            slot.close();
        }
    }

    /** One spec's model: loaded once under the slot's lock; a failed load is not kept, so a retried task tries again. */
    private static final class Slot {
        private Magma model;

        synchronized Magma get(ModelSpec spec, String executor) throws IOException {
            if (model == null) {
                model = spec.load(executor);
                LOADS.incrementAndGet();
            }
            return model;
        }

        synchronized void close() {
            if (model != null) {
                model.close();
                model = null;
            }
        }
    }
}
