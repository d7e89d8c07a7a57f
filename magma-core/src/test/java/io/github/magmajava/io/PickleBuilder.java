package io.github.magmajava.io;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;

/** Writes pickle opcodes by hand, for inputs torch would never produce (or produce only at scale). */
final class PickleBuilder {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    PickleBuilder op(int... bytes) {
        for (int b : bytes) {
            out.write(b);
        }
        return this;
    }

    PickleBuilder raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    PickleBuilder text(String ascii) {
        return raw(ascii.getBytes(StandardCharsets.ISO_8859_1));
    }

    PickleBuilder proto(int version) {
        return op(0x80, version);
    }

    PickleBuilder mark() {
        return op('(');
    }

    PickleBuilder global(String module, String name) {
        return op('c').text(module + "\n" + name + "\n");
    }

    /** BINUNICODE. */
    PickleBuilder str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X').u32(b.length);
        return raw(b);
    }

    PickleBuilder u32(long v) {
        return op((int) v & 0xff, (int) (v >> 8) & 0xff, (int) (v >> 16) & 0xff, (int) (v >> 24) & 0xff);
    }

    /** The shortest integer opcode: BININT1, BININT2, BININT or LONG1. */
    PickleBuilder integer(long v) {
        if (v >= 0 && v < 256) {
            return op('K', (int) v);
        }
        if (v >= 0 && v < 65536) {
            return op('M', (int) v & 0xff, (int) (v >> 8));
        }
        if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            return op('J').u32(v);
        }
        byte[] be = BigInteger.valueOf(v).toByteArray();
        op(0x8a, be.length);
        for (int i = be.length - 1; i >= 0; i--) {
            out.write(be[i]);
        }
        return this;
    }

    /** Integers (or nested builders' output) wrapped as a TUPLE. */
    PickleBuilder tupleOf(long... values) {
        mark();
        for (long v : values) {
            integer(v);
        }
        return op('t');
    }

    /**
     * A torch tensor: {@code _rebuild_tensor_v2(('storage', torch.<storage>, key, 'cpu', numel),
     * offset, shape, stride, False, OrderedDict())}.
     */
    PickleBuilder tensor(String storage, String key, long numel, long offset, long[] shape, long[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        mark().str("storage").global("torch", storage).str(key).str("cpu").integer(numel).op('t').op('Q');
        integer(offset).tupleOf(shape).tupleOf(stride).op(0x89);
        global("collections", "OrderedDict").op(')', 'R');
        return op('t', 'R');
    }

    PickleBuilder stop() {
        return op('.');
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}
