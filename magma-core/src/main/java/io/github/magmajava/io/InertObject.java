package io.github.magmajava.io;

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a pickle asked to build from a global that is not on the reader's allow-list (for example
 * {@code magma.config.MultimodalConfig}, {@code argparse.Namespace} or a DeepSpeed class): a
 * record of the request that does nothing. It keeps the global, the arguments it would have been
 * called with, the state {@code BUILD} would have set, and the items appended or assigned to it.
 * Identity semantics, like a Python object without {@code __eq__}.
 */
public final class InertObject {
    private final PickleGlobal type;
    private final List<Object> args;
    private final Map<Object, Object> kwargs;
    private Object state;
    private final List<Object> listItems = new ArrayList<>();
    private final List<Map.Entry<Object, Object>> dictItems = new ArrayList<>();

    InertObject(PickleGlobal type, List<Object> args, Map<Object, Object> kwargs) {
        this.type = type;
        this.args = Collections.unmodifiableList(new ArrayList<>(args));
        this.kwargs = Collections.unmodifiableMap(new LinkedHashMap<>(kwargs));
    }

    /** The global the pickle named, e.g. {@code magma.config.MultimodalConfig}. */
    public PickleGlobal type() {
        return type;
    }

    public String module() {
        return type.module();
    }

    public String name() {
        return type.name();
    }

    /** The positional arguments of the call ({@code REDUCE}, {@code NEWOBJ}, {@code INST}, {@code OBJ}). */
    public List<Object> args() {
        return args;
    }

    /** The keyword arguments ({@code NEWOBJ_EX} only; empty otherwise). */
    public Map<Object, Object> kwargs() {
        return kwargs;
    }

    /** The state {@code BUILD} passed (usually the instance's {@code __dict__}), or null. */
    public Object state() {
        return state;
    }

    /** Items the pickle appended ({@code APPEND(S)}, {@code ADDITEMS}). */
    public List<Object> listItems() {
        return Collections.unmodifiableList(listItems);
    }

    /** Key/value pairs the pickle assigned ({@code SETITEM(S)}), in order. */
    public List<Map.Entry<Object, Object>> dictItems() {
        return Collections.unmodifiableList(dictItems);
    }

    /** The value of {@code name} in a dict state, e.g. a config field; null when absent. */
    public Object attribute(String name) {
        return state instanceof Map<?, ?> m ? m.get(name) : null;
    }

    void setState(Object newState) {
        state = newState;
    }

    void append(Object item) {
        listItems.add(item);
    }

    void put(Object key, Object value) {
        dictItems.add(new AbstractMap.SimpleImmutableEntry<>(key, value));
    }

    /** Not recursive: the contents may be large or cyclic. */
    @Override
    public String toString() {
        return "<inert " + type.qualifiedName() + ">";
    }
}
