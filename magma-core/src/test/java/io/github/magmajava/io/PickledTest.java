package io.github.magmajava.io;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.magmajava.io.Pickled.PyDict;
import io.github.magmajava.io.Pickled.PyList;
import io.github.magmajava.io.Pickled.PySet;
import io.github.magmajava.io.Pickled.PyTuple;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import org.junit.jupiter.api.Test;

class PickledTest {
    private static PyTuple tuple(Object... items) {
        return new PyTuple(Arrays.asList(items));
    }

    private static PyTuple longs(int n) {
        return new PyTuple(new ArrayList<>(Collections.nCopies(n, 7L)));
    }

    @Test
    void tuplesAreHashableUpToTheKeyWeightCountedThroughNesting() {
        // A tuple weighs 1 plus its elements: 1023 scalars are the heaviest key allowed.
        assertThat(Pickled.isHashable(longs(Pickled.MAX_KEY_WEIGHT - 1))).isTrue();
        assertThat(Pickled.isHashable(longs(Pickled.MAX_KEY_WEIGHT))).isFalse();
        // Nested tuples count fully, each light enough on its own.
        PyTuple half = longs(600);
        assertThat(Pickled.isHashable(half)).isTrue();
        assertThat(Pickled.isHashable(tuple(half, half))).isFalse();
        assertThat(Pickled.isHashable(tuple(tuple(1L, 2L), tuple()))).isTrue();
    }

    @Test
    void aTupleIsHashableOnlyWhenEveryElementIs() {
        assertThat(Pickled.isHashable(tuple(null, "s", 1L, true, 0.5, new PickleGlobal("m", "n")))).isTrue();
        assertThat(Pickled.isHashable(tuple(1L, new PyList()))).isFalse();
        // Python's rule holds through nesting: ((1, []),) cannot be hashed either.
        assertThat(Pickled.isHashable(tuple(tuple(1L, new PyList())))).isFalse();
        assertThat(Pickled.isHashable(tuple(tuple(1L), new byte[0]))).isFalse();
    }

    @Test
    void dictsAnswerLookupsAndKeepInsertionOrder() {
        PyDict dict = new PyDict();
        dict.putItem("b", 1L);
        dict.putItem("a", 2L);
        assertThat(dict.containsKey("a")).isTrue();
        assertThat(dict.containsKey("c")).isFalse();
        assertThat(dict.keySet()).containsExactly("b", "a");
    }

    @Test
    void setsAnswerMembershipAndSize() {
        PySet set = new PySet(false);
        set.addItem(1L);
        set.addItem("a");
        set.addItem(1L);
        assertThat(set.contains(1L)).isTrue();
        assertThat(set.contains(2L)).isFalse();
        assertThat(set.size()).isEqualTo(2);
        assertThat(new PySet(true).size()).isZero();
    }

    @Test
    void typeNamesSayWhatPythonWould() {
        assertThat(Pickled.typeName(new PySet(false))).isEqualTo("set");
        assertThat(Pickled.typeName(new PySet(true))).isEqualTo("frozenset");
        assertThat(Pickled.typeName(tuple())).isEqualTo("tuple");
        assertThat(Pickled.typeName(null)).isEqualTo("None");
    }
}
