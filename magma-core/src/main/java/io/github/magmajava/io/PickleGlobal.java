package io.github.magmajava.io;

import java.util.Objects;

/**
 * A Python global (class or function) named by a checkpoint's pickle, e.g. {@code argparse.Namespace}.
 * It is only a name: nothing is imported, resolved or called. Globals outside the reader's fixed
 * allow-list appear in {@link TorchCheckpoint#root()} as this record or, once "called", as an
 * {@link InertObject}.
 */
public record PickleGlobal(String module, String name) {
    public PickleGlobal {
        Objects.requireNonNull(module, "module");
        Objects.requireNonNull(name, "name");
    }

    /** {@code module.name}, as Python spells it. */
    public String qualifiedName() {
        return module + "." + name;
    }

    @Override
    public String toString() {
        return qualifiedName();
    }
}
