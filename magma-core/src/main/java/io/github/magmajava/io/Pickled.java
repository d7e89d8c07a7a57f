package io.github.magmajava.io;

import java.math.BigInteger;
import java.util.AbstractList;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.RandomAccess;
import java.util.Set;

/**
 * The Python containers an unpickled checkpoint is made of. Callers see them as read-only
 * {@link Map}, {@link List} and {@link Set}; only the {@link Unpickler} fills them, while it
 * reads. Python's {@code None} is {@code null}, {@code int} a {@link Long} (or a
 * {@link java.math.BigInteger} beyond 64 bits), {@code float} a {@link Double}, {@code str} a
 * {@link String}, {@code bytes} a {@code byte[]}.
 */
final class Pickled {
    /** Bound on a dict key's size (nested tuple elements counted with repetition): equality
     *  and hashing of keys then stay cheap even for tuples that share sub-tuples. */
    static final int MAX_KEY_WEIGHT = 1024;

    private Pickled() {
    }

    /** A dict or {@code collections.OrderedDict}, in insertion order. */
    static final class PyDict extends AbstractMap<Object, Object> {
        private final LinkedHashMap<Object, Object> map = new LinkedHashMap<>();
        private final Map<Object, Object> view = Collections.unmodifiableMap(map);

        void putItem(Object key, Object value) {
            map.put(key, value);
        }

        @Override
        public Set<Entry<Object, Object>> entrySet() {
            return view.entrySet();
        }

        @Override
        public Object get(Object key) {
            return map.get(key);
        }

        @Override
        public boolean containsKey(Object key) {
            return map.containsKey(key);
        }

        @Override
        public int size() {
            return map.size();
        }
    }

    /** A list. */
    static final class PyList extends AbstractList<Object> implements RandomAccess {
        private final ArrayList<Object> items = new ArrayList<>();

        void addItems(Collection<?> more) {
            items.addAll(more);
        }

        @Override
        public Object get(int index) {
            return items.get(index);
        }

        @Override
        public int size() {
            return items.size();
        }
    }

    /** A set or frozenset, in insertion order. */
    static final class PySet extends AbstractSet<Object> {
        private final LinkedHashSet<Object> items = new LinkedHashSet<>();
        private final boolean frozen;

        PySet(boolean frozen) {
            this.frozen = frozen;
        }

        boolean frozen() {
            return frozen;
        }

        void addItem(Object item) {
            items.add(item);
        }

        @Override
        public boolean contains(Object o) {
            return items.contains(o);
        }

        @Override
        public Iterator<Object> iterator() {
            return Collections.unmodifiableSet(items).iterator();
        }

        @Override
        public int size() {
            return items.size();
        }
    }

    /**
     * A tuple. It knows once, when built, whether Python could hash it (every element hashable)
     * and its weight (elements counted through nested tuples), so using it as a key costs at most
     * {@link #MAX_KEY_WEIGHT} steps.
     */
    static final class PyTuple extends AbstractList<Object> implements RandomAccess {
        static final PyTuple EMPTY = new PyTuple(List.of());

        private final Object[] items;
        private final int weight;
        private final boolean hashable;

        PyTuple(List<Object> items) {
            this.items = items.toArray();
            long w = 1;
            boolean h = true;
            for (Object item : this.items) {
                if (item instanceof PyTuple t) {
                    w += t.weight;
                    h &= t.hashable;
                } else {
                    w += 1;
                    h &= isHashableScalar(item);
                }
                w = Math.min(w, MAX_KEY_WEIGHT + 1);
            }
            this.weight = (int) w;
            this.hashable = h && w <= MAX_KEY_WEIGHT;
        }

        @Override
        public Object get(int index) {
            return items[index];
        }

        @Override
        public int size() {
            return items.length;
        }
    }

    /** Whether {@code value} may be a dict key or set element here (Python's rule, bounded). */
    static boolean isHashable(Object value) {
        return value instanceof PyTuple t ? t.hashable : isHashableScalar(value);
    }

    private static boolean isHashableScalar(Object value) {
        return value == null || value instanceof String || value instanceof Long || value instanceof Boolean
                || value instanceof Double || value instanceof BigInteger
                || value instanceof PickleGlobal || value instanceof InertObject;
    }

    /** A short type name for messages, as Python would say it. */
    static String typeName(Object value) {
        return switch (value) {
            case null -> "None";
            case String _ -> "str";
            case Long _ -> "int";
            case BigInteger _ -> "int";
            case Boolean _ -> "bool";
            case Double _ -> "float";
            case byte[] _ -> "bytes";
            case PyDict _ -> "dict";
            case PyList _ -> "list";
            case PyTuple _ -> "tuple";
            case PySet s -> s.frozen() ? "frozenset" : "set";
            case PickleGlobal g -> "global " + g.qualifiedName();
            case InertObject o -> o.type().qualifiedName() + " object";
            case TorchStorage _ -> "storage";
            case PickledTensor _ -> "tensor";
            default -> value.getClass().getSimpleName();
        };
    }
}
