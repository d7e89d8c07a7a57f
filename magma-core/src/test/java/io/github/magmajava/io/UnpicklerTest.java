package io.github.magmajava.io;

import static io.github.magmajava.io.TorchCheckpointTest.list;
import static io.github.magmajava.io.TorchCheckpointTest.set;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class UnpicklerTest {
    private static final Path FILE = Path.of("model.pt");

    private static Object load(byte[] pickle) throws CheckpointException {
        return Unpickler.load(FILE, "archive/data.pkl", MemorySegment.ofArray(pickle));
    }

    private static Object load(PickleBuilder pickle) throws CheckpointException {
        return load(pickle.bytes());
    }

    private static Map<?, ?> map(Object value) {
        return (Map<?, ?>) value;
    }

    @Test
    void protocolZeroTextOpcodesAsPythonWritesThem() throws CheckpointException {
        Map<?, ?> root = map(load(CheckpointFixtures.bytes("protocol0.pkl")));
        assertThat(root.keySet().stream().map(String::valueOf).toList())
                .containsExactly("int", "big", "float", "inf", "str", "bytes", "list", "tuple", "set", "dict", "config");
        assertThat(root.get("int")).isEqualTo(-7L);
        assertThat(root.get("big")).isEqualTo(BigInteger.TWO.pow(80));
        assertThat(root.get("float")).isEqualTo(0.1);
        assertThat(root.get("inf")).isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(root.get("str")).isEqualTo("h\u00e9llo\n\\ \uD83D\uDE00");
        assertThat((byte[]) root.get("bytes")).containsExactly(0, 1, '\'', '"', 0xff);
        assertThat(list(root.get("list"))).containsExactly(1L, List.of(2L, 3L));
        assertThat(list(root.get("tuple"))).containsExactly(true, false, null);
        assertThat(set(root.get("set"))).containsExactly(4L);
        assertThat(map(root.get("dict")).get("k")).isEqualTo("v");
        InertObject config = (InertObject) root.get("config");
        assertThat(config.type()).isEqualTo(new PickleGlobal("magma.config", "MultimodalConfig"));
        assertThat(config.attribute("image_size")).isEqualTo(384L);
    }

    @Test
    void pythonTwoStringsInstAndObj() throws CheckpointException {
        Object value = load(new PickleBuilder().mark()
                .text("S'a\\x41\\n\\'b\\101\\\\'\n")                       // STRING with escapes
                .op('U', 2).text("hi")                                   // SHORT_BINSTRING
                .op('T').u32(3).text("abc")                              // BINSTRING
                .mark().text("I5\n").text("imagma.config\nMultimodalConfig\n")  // INST
                .mark().global("argparse", "Namespace").text("I1\nI2\n").op('o') // OBJ
                .text("VA\\u00e9\\U0001F600\\\\u\n")                     // UNICODE, raw-unicode-escape
                .op('l').stop());
        List<Object> items = list(value);
        assertThat(items.get(0)).isEqualTo("aA\n'bA\\");
        assertThat(items.get(1)).isEqualTo("hi");
        assertThat(items.get(2)).isEqualTo("abc");
        InertObject inst = (InertObject) items.get(3);
        assertThat(inst.module()).isEqualTo("magma.config");
        assertThat(inst.args()).containsExactly(5L);
        InertObject obj = (InertObject) items.get(4);
        assertThat(obj.name()).isEqualTo("Namespace");
        assertThat(obj.args()).containsExactly(1L, 2L);
        assertThat(items.get(5)).isEqualTo("A\u00e9\uD83D\uDE00\\\\u");
    }

    @Test
    void memoStackAndFramingOpcodes() throws CheckpointException {
        Object value = load(new PickleBuilder().proto(4).op(0x95).raw(new byte[] {20, 0, 0, 0, 0, 0, 0, 0})
                .op(']', 0x94)                                  // EMPTY_LIST, MEMOIZE -> memo 0
                .op(0x8c, 1).text("x").op(0x94, '0')            // SHORT_BINUNICODE, MEMOIZE -> memo 1, POP
                .op('h', 1, 'a')                                // BINGET 1, APPEND
                .op('2', 'a')                                   // DUP the list, APPEND it to itself
                .op('N', '0')                                   // NONE, POP
                .op('(', '1')                                   // MARK, POP_MARK
                .op('(', '0')                                   // MARK, POP (pops the mark, as CPython)
                .op('p').text("7\n").op('g').text("7\n").op('0') // PUT 7, GET 7, POP
                .op(0x8d).raw(new byte[] {2, 0, 0, 0, 0, 0, 0, 0}).text("ok").op('a')    // BINUNICODE8
                .op(0x8e).raw(new byte[] {1, 0, 0, 0, 0, 0, 0, 0}).op(9).op('a')        // BINBYTES8
                .op('C', 1, 8, 'a', 'B').u32(0).op('a')                                  // SHORT_BINBYTES, BINBYTES
                .op(0x8b).u32(2).op(0x00, 0x80, 'a')                                     // LONG4 -32768
                .op(0x8a, 0, 'a')                                                         // LONG1 0
                .op('J').u32(0xffffffffL).op('a')                                         // BININT -1
                .op('M', 0x34, 0x12, 'a')                                                 // BININT2
                .op('G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 'a')                               // BINFLOAT 1.5
                .text("L-12345678901234567890L\na")                                       // LONG
                .text("F-1e-05\na").text("I01\na")                                        // FLOAT, INT True
                .stop());
        List<Object> items = list(value);
        assertThat(items.get(0)).isEqualTo("x");
        assertThat(items.get(1)).isSameAs(value);
        assertThat(items.get(2)).isEqualTo("ok");
        assertThat((byte[]) items.get(3)).containsExactly(9);
        assertThat((byte[]) items.get(4)).containsExactly(8);
        assertThat((byte[]) items.get(5)).isEmpty();
        assertThat(items.subList(6, 14)).containsExactly(-32768L, 0L, -1L, 0x1234L, 1.5,
                new BigInteger("-12345678901234567890"), -1e-5, true);
    }

    @Test
    void setsFrozensetsNewobjExAndStackGlobal() throws CheckpointException {
        Object value = load(new PickleBuilder().proto(4).op(']')
                .op(0x8f).mark().integer(1).integer(2).op(0x90, 'a')                  // EMPTY_SET, ADDITEMS
                .mark().op(0x8c, 1).text("f").op(0x91, 'a')                           // FROZENSET
                .op(0x8c, 8).text("argparse").op(0x8c, 9).text("Namespace").op(0x93)  // STACK_GLOBAL
                .op(')', '}').op(0x8c, 1).text("k").integer(3).op('s').op(0x92, 'a')  // NEWOBJ_EX
                .stop());
        List<Object> items = list(value);
        assertThat(set(items.get(0))).containsExactly(1L, 2L);
        assertThat(set(items.get(1))).containsExactly("f");
        InertObject ns = (InertObject) items.get(2);
        assertThat(ns.type()).isEqualTo(new PickleGlobal("argparse", "Namespace"));
        assertThat(ns.kwargs()).containsEntry("k", 3L);
    }

    @ParameterizedTest
    @ValueSource(strings = {"posix system", "os system", "builtins eval", "builtins exec", "__builtin__ __import__",
            "subprocess Popen", "builtins getattr", "torch load", "numpy.core.multiarray _reconstruct"})
    void dangerousGlobalsAreNeverCalled(String global) throws CheckpointException {
        String[] parts = global.split(" ");
        Object value = load(new PickleBuilder().proto(2).global(parts[0], parts[1]).str("rm -rf ~").op(0x85, 'R').stop());
        InertObject inert = (InertObject) value;
        assertThat(inert.name()).isEqualTo(parts[1]);
        assertThat(inert.args()).containsExactly("rm -rf ~");
    }

    @Test
    void inertObjectsRecordBuildAppendsAndItems() throws CheckpointException {
        Object value = load(new PickleBuilder().proto(2).global("collections", "defaultdict").op(')', 'R')
                .str("a").integer(1).op('s')
                .integer(9).op('a')
                .op('}').str("x").integer(2).op('s', 'b')
                .stop());
        InertObject o = (InertObject) value;
        assertThat(o.dictItems()).containsExactly(Map.entry("a", 1L));
        assertThat(o.listItems()).containsExactly(9L);
        assertThat(o.attribute("x")).isEqualTo(2L);
    }

    @Test
    void unknownOpcodeIsNamedWithItsOffset() {
        assertThatThrownBy(() -> load(new byte[] {(byte) 0x80, 2, (byte) 0xff}))
                .isInstanceOf(CheckpointException.class)
                .hasMessage("model.pt: archive/data.pkl at byte 2: unknown pickle opcode 0xff");
    }

    @Test
    void lengthsAreCheckedBeforeAllocating() {
        // 2 GiB, 16 EiB and 2^63-1 byte strings in a pickle of a few bytes: refused without allocating.
        assertError(new PickleBuilder().op('X').u32(0x7fffffffL), "a string of 2147483647 bytes, only 0 left");
        assertError(new PickleBuilder().op(0x8e).raw(new byte[] {-1, -1, -1, -1, -1, -1, -1, -1}),
                "a string of 18446744073709551615 bytes");
        assertError(new PickleBuilder().op(0x8d).raw(new byte[] {-1, -1, -1, -1, -1, -1, -1, 0x7f}),
                "a string of 9223372036854775807 bytes");
        assertError(new PickleBuilder().op('T').u32(0xfffffff0L), "negative length");
        assertError(new PickleBuilder().op(0x8b).u32(1 << 20), "an integer of 1048576 bytes");
        assertError(new PickleBuilder().op(0x95).raw(new byte[] {0, 0, 0, 0, 0, 0, 0, 1}), "a FRAME of");
        assertError(new PickleBuilder().op('J', 1, 2), "truncated: 4 more bytes needed, 2 left");
    }

    @Test
    void malformedStructureIsAnError() {
        assertError(new PickleBuilder().proto(6), "pickle protocol 6");
        assertError(new PickleBuilder().proto(2).op('N'), "the pickle ends without STOP");
        assertError(new PickleBuilder().stop(), "stack underflow");
        assertError(new PickleBuilder().op('N', '(').stop(), "stack underflow");
        assertError(new PickleBuilder().op('t'), "no MARK to pop to");
        assertError(new PickleBuilder().op('h', 3), "memo entry 3 is not defined");
        assertError(new PickleBuilder().op('q', 0), "stack underflow");
        assertError(new PickleBuilder().op('}', ']', 'N', 's'), "a list as a dict key");
        assertError(new PickleBuilder().op('}', '(', 'N', 'u'), "an odd number of items (1)");
        assertError(new PickleBuilder().op(']', 'N', 'N', 's'), "SETITEM on a list");
        assertError(new PickleBuilder().op('}', 'N', 'a'), "APPEND to a dict");
        assertError(new PickleBuilder().op(']', '}', 'b'), "BUILD on a list");
        assertError(new PickleBuilder().op('N', '(', 'e'), "APPEND to None");
        assertError(new PickleBuilder().global("os", "system").op('N', 'R'), "the arguments of os.system are a None");
        assertError(new PickleBuilder().integer(3).op(')', 'R'), "a call of a int, not of a global");
        assertError(new PickleBuilder().op('N', ')', 0x81), "NEWOBJ of a None");
        assertError(new PickleBuilder().op(0x82, 1), "extension registry codes");
        assertError(new PickleBuilder().op(0x97), "out-of-band buffers");
        assertError(new PickleBuilder().text("cos"), "a text argument without a newline");
        assertError(new PickleBuilder().op('X').u32(2).op(0xc3, 0x28), "not valid UTF-8");
        assertError(new PickleBuilder().text("I12a\n"), "not a decimal integer");
        assertError(new PickleBuilder().text("L" + "9".repeat(5000) + "\n"), "not a decimal integer (of at most 4300 digits)");
        assertError(new PickleBuilder().text("Fnanx\n"), "not a float");
        assertError(new PickleBuilder().text("S'abc\n"), "not quoted");
        assertError(new PickleBuilder().text("V\\u12\n"), "truncated \\u escape");
        assertError(new PickleBuilder().text("V\\U00110000\n"), "beyond U+10FFFF");
        assertError(new PickleBuilder().text("Pstorage0\n"), "persistent id is not a torch storage reference");
        assertError(new PickleBuilder().op(0x8c, 1).text("x").op('N', 0x93), "STACK_GLOBAL needs two str");
        assertError(new PickleBuilder().global("_codecs", "encode").str("\u0100").str("latin1").op(0x86, 'R'),
                "character U+100 is not latin-1");
        assertError(new PickleBuilder().global("torch._utils", "_rebuild_tensor_v2").op(')', 'R'),
                "torch._utils._rebuild_tensor_v2 with 0 arguments");
    }

    @Test
    void storagesAndTensorsAreDescribedNotRead() throws CheckpointException {
        Object value = load(new PickleBuilder().proto(2).op(']')
                .tensor("HalfStorage", "7", 12, 3, new long[] {2, 3}, new long[] {3, 1}).op('a')
                .tensor("IntStorage", "8", 4, 0, new long[] {4}, new long[] {1}).op('a')
                .stop());
        PickledTensor half = (PickledTensor) list(value).get(0);
        assertThat(half.storage()).isEqualTo(new TorchStorage("7", "HalfStorage", "cpu", 12));
        assertThat(half.storage().dtype()).contains(DType.FLOAT16);
        assertThat(half.storageOffset()).isEqualTo(3);
        assertThat(half.shape()).containsExactly(2L, 3L);
        assertThat(half.stride()).containsExactly(3L, 1L);
        PickledTensor ints = (PickledTensor) list(value).get(1);
        assertThat(ints.storage().dtype()).isEmpty();
        assertThat(ints.storage().dtypeName()).isEqualTo("int32");

        assertError(new PickleBuilder().proto(2).op(']')
                .tensor("HalfStorage", "7", 12, 0, new long[] {12}, new long[] {1}).op('a')
                .tensor("FloatStorage", "7", 12, 0, new long[] {12}, new long[] {1}).op('a'),
                "storage '7' is declared as HalfStorage[12] and as FloatStorage[12]");
        assertError(new PickleBuilder().proto(2)
                .tensor("HalfStorage", "7", 12, 0, new long[] {12, 1}, new long[] {1}),
                "size [12, 1] and stride [1] differ in rank");
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void cyclesSharedStructureAndHugeKeysStayCheap() throws CheckpointException {
        // t(i+1) = (t(i), t(i)): 2^60 elements when expanded. As a value it costs nothing ...
        PickleBuilder dag = new PickleBuilder().integer(1).op(0x85);
        for (int i = 0; i < 60; i++) {
            dag.op('2', 0x86);
        }
        assertThat(load(new PickleBuilder().raw(dag.bytes()).stop())).isInstanceOf(List.class);
        // ... as a dict key (hash and equality would walk 2^60 elements) it is refused.
        assertError(new PickleBuilder().op('}').raw(dag.bytes()).op('N', 's'), "a tuple as a dict key");

        // A self-containing dict and a million nested lists: built without recursion.
        Map<?, ?> self = map(load(new PickleBuilder().op('}', 'q', 0).str("me").op('h', 0, 's').stop()));
        assertThat(self.get("me")).isSameAs(self);
        PickleBuilder deep = new PickleBuilder();
        for (int i = 0; i < 1_000_000; i++) {
            deep.op(']');
        }
        for (int i = 0; i < 999_999; i++) {
            deep.op('a');
        }
        Object outer = load(deep.stop());
        int depth = 0;
        for (Object o = outer; o instanceof List<?> l && !l.isEmpty(); o = l.getFirst()) {
            depth++;
        }
        assertThat(depth).isEqualTo(999_999);

        PickleBuilder marks = new PickleBuilder();
        for (int i = 0; i < 20_000; i++) {
            marks.mark();
        }
        assertError(marks, "more than 16384 nested MARKs");
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void randomOpcodeSoupEndsInAResultOrACheckpointException() {
        byte[] alphabet = "()0123abcdefghijlpqrstuBCFGIJKLMNPQRSTUVX]}.".getBytes();
        Random random = new Random(42);
        int errors = 0;
        for (int n = 0; n < 20_000; n++) {
            byte[] pickle = new byte[1 + random.nextInt(48)];
            for (int i = 0; i < pickle.length; i++) {
                int r = random.nextInt(10);
                pickle[i] = r < 6 ? alphabet[random.nextInt(alphabet.length)]
                        : r < 8 ? (byte) (0x80 + random.nextInt(0x19)) : (byte) random.nextInt(256);
            }
            try {
                load(pickle);
            } catch (CheckpointException e) {
                assertThat(e.getMessage()).startsWith("model.pt: archive/data.pkl at byte ");
                errors++;
            } catch (Throwable t) {
                fail("pickle " + java.util.HexFormat.of().formatHex(pickle) + " threw " + t, t);
            }
        }
        assertThat(errors).isGreaterThan(10_000);
    }

    @Test
    void allowListedCallsBuildContainersBytesAndSizes() throws CheckpointException {
        Object value = load(new PickleBuilder().proto(2).op(']')
                // OrderedDict([('b', 1), ('a', 2)]): pairs, in their order
                .global("collections", "OrderedDict").op(']').mark().str("b").integer(1).op(0x86)
                .str("a").integer(2).op(0x86).op('e', 0x85, 'R', 'a')
                .global("builtins", "set").op(']').mark().integer(1).integer(2).op('e', 0x85, 'R', 'a')
                .global("builtins", "frozenset").tupleOf(3).op(0x85, 'R', 'a')
                .global("builtins", "set").op(')', 'R', 'a')
                .global("builtins", "bytes").op(')', 'R', 'a')
                .global("builtins", "bytearray").str("a\u00ff").str("latin-1").op(0x86, 'R', 'a')
                .global("_codecs", "encode").str("\u00e9").str("latin1").op(0x86, 'R', 'a')
                .global("torch", "Size").tupleOf(2, 3).op(0x85, 'R', 'a')
                .global("torch", "Size").op(']').integer(4).op('a', 0x85, 'R', 'a')
                .stop());
        List<Object> items = list(value);
        assertThat(dict(items.get(0))).containsExactly(Map.entry("b", 1L), Map.entry("a", 2L));
        assertThat(set(items.get(1))).containsExactly(1L, 2L);
        assertThat(set(items.get(2))).containsExactly(3L);
        assertThat(set(items.get(3))).isEmpty();
        assertThat((byte[]) items.get(4)).isEmpty();
        assertThat((byte[]) items.get(5)).containsExactly('a', 0xff);
        assertThat((byte[]) items.get(6)).containsExactly(0xe9);
        assertThat(list(items.get(7))).containsExactly(2L, 3L);
        assertThat(list(items.get(8))).containsExactly(4L);
    }

    @Test
    void allowListedCallsRefuseArgumentsTorchNeverWrites() {
        assertError(new PickleBuilder().global("builtins", "dict").integer(1).integer(2).op(0x86, 'R'),
                "builtins.dict takes an iterable of pairs, found 2 arguments");
        assertError(new PickleBuilder().global("builtins", "dict").integer(1).op(0x85, 'R'),
                "builtins.dict takes an iterable of pairs, found 1 arguments");
        assertError(new PickleBuilder().global("builtins", "dict").op(']').integer(1).op('a', 0x85, 'R'),
                "builtins.dict takes an iterable of pairs, found a int");
        assertError(new PickleBuilder().global("builtins", "dict").op(']').tupleOf(1, 2, 3).op('a', 0x85, 'R'),
                "builtins.dict takes an iterable of pairs, found a tuple");
        assertError(new PickleBuilder().global("builtins", "set").integer(1).op(0x85, 'R'),
                "builtins.set takes one list or tuple here");
        assertError(new PickleBuilder().global("builtins", "frozenset").tupleOf(3).op(0x85, 'R').mark().integer(4).op(0x90),
                "ADDITEMS to a frozenset");
        assertError(new PickleBuilder().global("_codecs", "encode").str("a").str("utf-8").op(0x86, 'R'),
                "_codecs.encode is only read as encode(str, 'latin1')");
        assertError(new PickleBuilder().global("builtins", "bytes").str("a").op(0x85, 'R'),
                "builtins.bytes is only read as bytes(str, 'latin1')");
        assertError(new PickleBuilder().global("builtins", "bytes").integer(1).str("latin1").op(0x86, 'R'),
                "builtins.bytes is only read as bytes(str, 'latin1')");
        assertError(new PickleBuilder().global("torch", "Size").op(')', 'R'), "torch.Size takes one tuple of ints");
        assertError(new PickleBuilder().global("torch", "Size").integer(2).op(0x85, 'R'), "torch.Size takes one tuple of ints");
        assertError(new PickleBuilder().global("copyreg", "_reconstructor").global("m", "C").op('N', 0x86, 'R'),
                "copyreg._reconstructor takes (class, base, state)");
        assertError(new PickleBuilder().global("copyreg", "_reconstructor").str("C").op('N', 'N', 0x87, 'R'),
                "copyreg._reconstructor takes (class, base, state)");
    }

    @Test
    void copyregReconstructorKeepsBaseAndStateUnlessPlainObject() throws CheckpointException {
        // _reconstructor(cls, object, None) is object.__new__(cls): nothing worth keeping.
        Object value = load(new PickleBuilder().op(']')
                .global("copy_reg", "_reconstructor").global("m", "C").global("__builtin__", "object").op('N', 0x87, 'R', 'a')
                .global("copy_reg", "_reconstructor").global("m", "C").global("__builtin__", "object").integer(5)
                .op(0x87, 'R', 'a')
                .global("copy_reg", "_reconstructor").global("m", "C").global("__builtin__", "int").op('N', 0x87, 'R', 'a')
                .stop());
        List<Object> items = list(value);
        assertThat(((InertObject) items.get(0)).args()).isEmpty();
        assertThat(((InertObject) items.get(1)).args()).containsExactly(new PickleGlobal("builtins", "object"), 5L);
        assertThat(((InertObject) items.get(2)).args()).containsExactly(new PickleGlobal("builtins", "int"), null);
    }

    @Test
    void tensorRebuildersOfEveryTorchVersion() throws CheckpointException {
        PickleBuilder p = new PickleBuilder().proto(2).op(']');
        // torch < 1.0: _rebuild_tensor(storage, offset, size, stride)
        storage(p.global("torch._utils", "_rebuild_tensor").mark()).integer(1).tupleOf(3).tupleOf(1).op('t', 'R', 'a');
        // torch >= 2.1 adds a seventh argument (metadata); requires_grad is the fifth
        rebuildV2(p).integer(2).tupleOf(2).tupleOf(1).op(0x88)
                .global("collections", "OrderedDict").op(')', 'R', '}', 't', 'R', 'a');
        // rank 64 is the most a tensor may have
        long[] ones = new long[64];
        Arrays.fill(ones, 1);
        rebuildV2(p).integer(0).tupleOf(ones).tupleOf(ones).op(0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R', 'a');
        // a Parameter around something other than a plain tensor (here a quantized one) is that thing
        p.global("torch._utils", "_rebuild_parameter").mark().global("torch._utils", "_rebuild_qtensor").op(')', 'R')
                .op(0x88).global("collections", "OrderedDict").op(')', 'R', 't', 'R', 'a');
        // torch 2's wrapper for tensor subclasses: the tensor the named rebuilder makes
        p.global("torch._tensor", "_rebuild_from_type_v2").mark().global("torch._utils", "_rebuild_tensor_v2")
                .global("torch.nn.parameter", "Buffer").mark();
        vectorArgs(storage(p).integer(0)).op('t', '}', 't', 'R', 'a');
        // an empty tensor: no elements in its storage, size (0,)
        storage(p.global("torch._utils", "_rebuild_tensor_v2").mark(), "e", 0).integer(0).tupleOf(0).tupleOf(1)
                .op(0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R', 'a');
        // a Parameter around a tensor is the tensor, with the Parameter's requires_grad
        vectorArgs(rebuildV2(p.global("torch._utils", "_rebuild_parameter").mark()).integer(0)).op('t', 'R', 0x88)
                .global("collections", "OrderedDict").op(')', 'R', 't', 'R', 'a');
        List<Object> items = list(load(p.stop()));

        PickledTensor v1 = (PickledTensor) items.get(0);
        assertThat(v1.storageOffset()).isEqualTo(1);
        assertThat(v1.shape()).containsExactly(3L);
        assertThat(v1.requiresGrad()).isFalse();
        PickledTensor withMetadata = (PickledTensor) items.get(1);
        assertThat(withMetadata.storageOffset()).isEqualTo(2);
        assertThat(withMetadata.requiresGrad()).isTrue();
        assertThat(((PickledTensor) items.get(2)).shape()).hasSize(64);
        assertThat(((InertObject) items.get(3)).name()).isEqualTo("_rebuild_qtensor");
        assertThat(((PickledTensor) items.get(4)).shape()).containsExactly(4L);
        PickledTensor empty = (PickledTensor) items.get(5);
        assertThat(empty.storage().numel()).isZero();
        assertThat(empty.shape()).containsExactly(0L);
        PickledTensor parameter = (PickledTensor) items.get(6);
        assertThat(parameter.requiresGrad()).isTrue();
        // every reference to storage '0' is the one storage
        assertThat(parameter.storage()).isSameAs(v1.storage());
    }

    @Test
    void tensorRebuildersCheckTheirArguments() {
        assertError(vectorArgs(storage(new PickleBuilder().global("torch._utils", "_rebuild_tensor").mark()).integer(0))
                .op('t', 'R'), "torch._utils._rebuild_tensor with 6 arguments");
        assertError(vectorArgs(rebuildV2(new PickleBuilder()).integer(0)).op('}', 'N', 't', 'R'),
                "torch._utils._rebuild_tensor_v2 with 8 arguments");
        assertError(vectorArgs(new PickleBuilder().global("torch._utils", "_rebuild_tensor_v2").mark().str("0").integer(0))
                .op('t', 'R'), "torch._utils._rebuild_tensor_v2: the storage argument is a str");
        assertError(vectorArgs(rebuildV2(new PickleBuilder()).op('N')).op('t', 'R'),
                "torch._utils._rebuild_tensor_v2: the storage offset is None, not an int of 0 or more");
        assertError(vectorArgs(rebuildV2(new PickleBuilder()).integer(-1)).op('t', 'R'),
                "torch._utils._rebuild_tensor_v2: the storage offset is int -1");
        assertError(rebuildV2(new PickleBuilder()).integer(0).tupleOf(4).tupleOf(-1).op(0x89, '}', 't', 'R'),
                "torch._utils._rebuild_tensor_v2: the stride holds int -1");
        long[] ones = new long[65];
        Arrays.fill(ones, 1);
        assertError(rebuildV2(new PickleBuilder()).integer(0).tupleOf(ones).tupleOf(ones).op(0x89, '}', 't', 'R'),
                "torch._utils._rebuild_tensor_v2: the size is not a tuple of at most 64 ints");

        assertError(vectorArgs(rebuildV2(new PickleBuilder().global("torch._utils", "_rebuild_parameter").mark()).integer(0))
                .op('t', 'R', 0x88, 't', 'R'), "torch._utils._rebuild_parameter with 2 arguments");
        assertError(storage(storage(new PickleBuilder(), "0", 16), "0", 17),
                "storage '0' is declared as FloatStorage[16] and as FloatStorage[17]");

        String fromType = "torch._tensor._rebuild_from_type_v2 takes (func, new_type, args, state)";
        PickleBuilder call = new PickleBuilder().global("torch._tensor", "_rebuild_from_type_v2").mark();
        assertError(new PickleBuilder().raw(call.bytes()).global("torch._utils", "_rebuild_tensor_v2")
                .global("m", "T").op(')', 't', 'R'), fromType);
        assertError(new PickleBuilder().raw(call.bytes()).op('N').global("m", "T").op(')', '}', 't', 'R'), fromType);
        assertError(new PickleBuilder().raw(call.bytes()).global("torch._utils", "_rebuild_tensor_v2")
                .global("m", "T").op(']', '}', 't', 'R'), fromType);
        assertError(new PickleBuilder().raw(call.bytes()).global("torch._tensor", "_rebuild_from_type_v2")
                .global("m", "T").op(')', '}', 't', 'R'), "torch._tensor._rebuild_from_type_v2 calling itself");
    }

    @Test
    void dictMemoAndMarkOpcodes() throws CheckpointException {
        Object value = load(new PickleBuilder().mark()
                .mark().str("a").integer(1).str("b").integer(2).op('d')        // DICT
                .integer(7).op('r').u32(70_000).op('0')                       // LONG_BINPUT, POP
                .op('j').u32(70_000)                                          // LONG_BINGET
                .integer(5).text("p1\n0").integer(6).text("p2\n0g1\ng2\n")   // PUT and GET keep their indices apart
                .op('T').u32(0).op(0x8b).u32(0)                               // empty BINSTRING, zero-byte LONG4
                .op('N', '(', '0')                                            // POP of a bare MARK leaves the outer one
                .op('t').stop());
        List<Object> items = list(value);
        assertThat(dict(items.get(0))).containsExactly(Map.entry("a", 1L), Map.entry("b", 2L));
        assertThat(items.subList(1, items.size())).containsExactly(7L, 5L, 6L, "", 0L, null);
    }

    @Test
    void inertObjectsTakeAddItemsAndOnlyKeyValuePairs() throws CheckpointException {
        // A set subclass (ordered_set.OrderedSet) is filled with ADDITEMS (protocol 5, the newest, is read).
        InertObject set = (InertObject) load(new PickleBuilder().proto(5).global("ordered_set", "OrderedSet")
                .op(')', 0x81).mark().integer(1).integer(2).op(0x90).stop());
        assertThat(set.listItems()).containsExactly(1L, 2L);
        assertError(new PickleBuilder().global("collections", "defaultdict").op(')', 'R').mark().integer(1).op('u'),
                "an odd number of items (1) for key/value pairs");
    }

    @Test
    void textProtocolStringEscapes() throws CheckpointException {
        Object value = load(new PickleBuilder().mark()
                .text("S'\\r\\t\\a\\b\\f\\v\\q'\n")                 // named escapes; an unknown one stays as written
                .text("S'\\0\\7\\17\\100\\1011\\8\\1.\\1'\n")       // octal: one to three digits 0-7
                .text("S'\\x00\\x7f\\x70'\n")                      // hex: exactly two digits
                .text("S\"a'b\"\n").text("S''\n")                  // either quote; empty
                .text("Vab\\\n").text("V\\U0010ffff\n")            // UNICODE: a lone trailing backslash; the last code point
                .op('t').stop());
        assertThat(list(value)).containsExactly("\r\t\u0007\b\f\u000b\\q", "\u0000\u0007\u000f@A1\\8\u0001.\u0001",
                "\u0000\u007fp", "a'b", "", "ab\\", "\uDBFF\uDFFF");

        for (String bad : List.of("S'\n", "S'a\"\n", "Sxx\n")) {
            assertError(new PickleBuilder().text(bad), "the STRING opcode's argument is not quoted");
        }
        for (String bad : List.of("S'\\x'\n", "S'\\x4'\n", "S'\\xg4'\n", "S'\\x4g'\n")) {
            assertError(new PickleBuilder().text(bad), "invalid \\x escape in a STRING");
        }
        assertError(new PickleBuilder().text("V\\u004\n"), "a truncated \\u escape in a UNICODE string");
        // As CPython's escape_decode: "Trailing \\ in string".
        assertError(new PickleBuilder().text("S'a\\'\n"), "a STRING ends in a lone backslash");
    }

    @Test
    void textProtocolNumbersAtTheirLimits() throws CheckpointException {
        Object value = load(new PickleBuilder().mark()
                .text("F-inf\nF-Infinity\nFnan\n")
                .text("I" + "9".repeat(4300) + "\n")
                .op(0x8b).u32(2048).raw(filled(2048, (byte) 0xff))     // LONG4 of 2048 bytes: -1
                .op('t').stop());
        assertThat(list(value)).containsExactly(Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN,
                new BigInteger("9".repeat(4300)), -1L);
        assertError(new PickleBuilder().text("I" + "9".repeat(4301) + "\n"), "not a decimal integer (of at most 4300 digits)");
        assertError(new PickleBuilder().op(0x8b).u32(2049), "an integer of 2049 bytes (at most 2048 are read)");
        // Bad text is quoted in full up to 40 characters, then cut.
        assertError(new PickleBuilder().text("I" + "x".repeat(40) + "\n"), "digits): '" + "x".repeat(40) + "'");
        assertError(new PickleBuilder().text("I" + "x".repeat(41) + "\n"), "digits): '" + "x".repeat(40) + "...'");
    }

    @Test
    void lengthFaultsSayHowManyBytesAreLeft() throws CheckpointException {
        // A FRAME may be empty or cover exactly the rest of the pickle, not one byte more.
        assertThat(load(new PickleBuilder().proto(4).op(0x95).raw(new byte[8]).op('N').stop())).isNull();
        assertThat(load(new PickleBuilder().proto(4).op(0x95).raw(new byte[] {2, 0, 0, 0, 0, 0, 0, 0}).op('N').stop()))
                .isNull();
        assertError(new PickleBuilder().proto(4).op(0x95).raw(new byte[] {3, 0, 0, 0, 0, 0, 0, 0}).op('N').stop(),
                "at byte 2: a FRAME of 3 bytes, 2 left");
        assertError(new PickleBuilder().proto(2).op('U', 5).text("abc"), "a string of 5 bytes, only 3 left");
        assertError(new PickleBuilder().proto(2).text("cos"), "a text argument without a newline in 2 bytes");
    }

    @Test
    void pickleSizeIsBoundedAt64MiB() throws CheckpointException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pickle = arena.allocate(Unpickler.MAX_PICKLE_BYTES + 1);
            pickle.set(ValueLayout.JAVA_BYTE, 0, (byte) 'N');
            pickle.set(ValueLayout.JAVA_BYTE, 1, (byte) '.');
            assertThat(Unpickler.load(FILE, "archive/data.pkl", pickle.asSlice(0, Unpickler.MAX_PICKLE_BYTES))).isNull();
            assertThatThrownBy(() -> Unpickler.load(FILE, "archive/data.pkl", pickle))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessage("model.pt: archive/data.pkl is 67108865 bytes, more than the 64 MiB limit for a pickle"
                            + " (a state dict's is far smaller)");
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void stackIsBoundedAt4MiEntries() throws CheckpointException {
        byte[] full = filled(1 << 22, (byte) 'N');
        assertThat(load(new PickleBuilder().raw(full).stop())).isNull();
        assertError(new PickleBuilder().raw(full).op('N').stop(), "the stack grows beyond 4194304 entries");
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void memoIsBoundedAt4MiEntries() throws CheckpointException {
        PickleBuilder fullMemo = new PickleBuilder().op('N').raw(filled(1 << 22, (byte) 0x94));
        // A full memo still takes a new value for an index it has ...
        assertThat(load(new PickleBuilder().raw(fullMemo.bytes()).op('q', 0).stop())).isNull();
        // ... but no new index.
        assertError(new PickleBuilder().raw(fullMemo.bytes()).op(0x94).stop(), "the memo grows beyond 4194304 entries");
    }

    private static byte[] filled(int n, byte value) {
        byte[] bytes = new byte[n];
        Arrays.fill(bytes, value);
        return bytes;
    }

    @SuppressWarnings("unchecked")
    private static Map<Object, Object> dict(Object value) {
        return (Map<Object, Object>) value;
    }

    /** BINPERSID of ('storage', torch.FloatStorage, '0', 'cpu', 16). */
    private static PickleBuilder storage(PickleBuilder p) {
        return storage(p, "0", 16);
    }

    private static PickleBuilder storage(PickleBuilder p, String key, long numel) {
        return p.mark().str("storage").global("torch", "FloatStorage").str(key).str("cpu").integer(numel).op('t', 'Q');
    }

    /** Opens {@code _rebuild_tensor_v2(} and writes its storage argument: the offset comes next. */
    private static PickleBuilder rebuildV2(PickleBuilder p) {
        return storage(p.global("torch._utils", "_rebuild_tensor_v2").mark());
    }

    /** After the offset: the size (4,), stride (1,), requires_grad False and backward_hooks OrderedDict() of a vector. */
    private static PickleBuilder vectorArgs(PickleBuilder p) {
        return p.tupleOf(4).tupleOf(1).op(0x89).global("collections", "OrderedDict").op(')', 'R');
    }

    private static void assertError(PickleBuilder pickle, String message) {
        assertThatThrownBy(() -> load(pickle)).isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith("model.pt: archive/data.pkl at byte ")
                .hasMessageContaining(message);
    }
}
