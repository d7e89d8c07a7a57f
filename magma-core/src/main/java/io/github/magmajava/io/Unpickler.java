package io.github.magmajava.io;

import io.github.magmajava.io.Pickled.PyDict;
import io.github.magmajava.io.Pickled.PyList;
import io.github.magmajava.io.Pickled.PySet;
import io.github.magmajava.io.Pickled.PyTuple;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A pickle reader (protocols 0 to 5, as torch writes them) that never imports, resolves or calls
 * anything. A fixed allow-list of globals gets its meaning (containers, {@code bytes}, torch's
 * tensor and parameter rebuilders, {@code torch.Size}); every other global becomes a
 * {@link PickleGlobal} name and what is built from it an {@link InertObject}.
 *
 * <p>Defenses against hostile input: every length is checked against the bytes left before
 * anything is allocated, the stack, the marks and the memo are bounded, integers are bounded,
 * dict keys are bounded (see {@link Pickled#MAX_KEY_WEIGHT}), nothing recurses over the data,
 * and every fault is a {@link CheckpointException} naming the file, the pickle and the offset.
 */
final class Unpickler {
    /** More than any state dict pickle needs (MAGMA's is well under 1 MiB). */
    static final long MAX_PICKLE_BYTES = 64L << 20;
    private static final int MAX_STACK = 1 << 22;
    private static final int MAX_MARKS = 1 << 14;
    private static final int MAX_MEMO = 1 << 22;
    private static final int MAX_LINE = 1 << 16;
    /** Python refuses to parse longer decimal integers by default, too. */
    private static final int MAX_INT_DIGITS = 4300;
    private static final int MAX_INT_BYTES = 2048;
    private static final int MAX_RANK = 64;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_BE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final Path file;
    private final String source;
    private final MemorySegment data;
    private final long end;
    private long pos;
    private long opStart;
    private final ArrayList<Object> stack = new ArrayList<>();
    private int[] marks = new int[16];
    private int markCount;
    private final HashMap<Long, Object> memo = new HashMap<>();
    private final HashMap<String, TorchStorage> storages = new HashMap<>();
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);

    private Unpickler(Path file, String source, MemorySegment data) {
        this.file = file;
        this.source = source;
        this.data = data;
        this.end = data.byteSize();
    }

    /**
     * The object the pickle describes.
     *
     * @param file   the file, for messages
     * @param source the pickle's name inside the file, for messages (e.g. {@code archive/data.pkl})
     */
    static Object load(Path file, String source, MemorySegment pickle) throws CheckpointException {
        if (pickle.byteSize() > MAX_PICKLE_BYTES) {
            throw new CheckpointException(file, source + " is " + pickle.byteSize() + " bytes, more than the "
                    + (MAX_PICKLE_BYTES >> 20) + " MiB limit for a pickle (a state dict's is far smaller)");
        }
        return new Unpickler(file, source, pickle).run();
    }

    private Object run() throws CheckpointException {
        while (true) {
            opStart = pos;
            if (pos >= end) {
                throw fail("the pickle ends without STOP");
            }
            int op = u8();
            switch (op) {
                case 0x80 -> protocol(u8());                             // PROTO
                case 0x95 -> skipFrameHeader(i64());                     // FRAME
                case '.' -> {                                            // STOP
                    return pop();
                }
                case '(' -> pushMark();                                  // MARK
                case '0' -> popTop();                                    // POP
                case '1' -> popToMark();                                 // POP_MARK
                case '2' -> push(peek());                                // DUP
                case 'N' -> push(null);                                  // NONE
                case 0x88 -> push(Boolean.TRUE);                         // NEWTRUE
                case 0x89 -> push(Boolean.FALSE);                        // NEWFALSE
                case 'I' -> push(parseIntLine(asciiLine()));             // INT
                case 'J' -> push((long) data.get(I32, advance(4)));      // BININT
                case 'K' -> push((long) u8());                           // BININT1
                case 'M' -> push((long) Short.toUnsignedInt(data.get(U16, advance(2)))); // BININT2
                case 'L' -> push(parseLongLine(asciiLine()));            // LONG
                case 0x8a -> push(littleEndianInt(u8()));                // LONG1
                case 0x8b -> push(littleEndianInt(i32Length()));         // LONG4
                case 'F' -> push(parseFloatLine(asciiLine()));           // FLOAT
                case 'G' -> push(data.get(F64_BE, advance(8)));          // BINFLOAT
                case 'S' -> push(decodeUtf8(unquote(line())));           // STRING
                case 'T' -> push(decodeUtf8(bytes(i32Length())));        // BINSTRING
                case 'U' -> push(decodeUtf8(bytes(u8())));               // SHORT_BINSTRING
                case 'V' -> push(rawUnicodeEscape(line()));              // UNICODE
                case 'X' -> push(decodeUtf8(bytes(u32())));              // BINUNICODE
                case 0x8c -> push(decodeUtf8(bytes(u8())));              // SHORT_BINUNICODE
                case 0x8d -> push(decodeUtf8(bytes(u64())));             // BINUNICODE8
                case 'B' -> push(bytes(u32()));                          // BINBYTES
                case 'C' -> push(bytes(u8()));                           // SHORT_BINBYTES
                case 0x8e, 0x96 -> push(bytes(u64()));                   // BINBYTES8, BYTEARRAY8
                case ']' -> push(new PyList());                          // EMPTY_LIST
                case 'l' -> push(listOf(popToMark()));                   // LIST
                case '}' -> push(new PyDict());                          // EMPTY_DICT
                case 'd' -> push(dictOf(popToMark()));                   // DICT
                case ')' -> push(PyTuple.EMPTY);                         // EMPTY_TUPLE
                case 't' -> push(new PyTuple(popToMark()));              // TUPLE
                case 0x85 -> push(popTuple(1));                          // TUPLE1
                case 0x86 -> push(popTuple(2));                          // TUPLE2
                case 0x87 -> push(popTuple(3));                          // TUPLE3
                case 0x8f -> push(new PySet(false));                     // EMPTY_SET
                case 0x90 -> addItems(popToMark());                      // ADDITEMS
                case 0x91 -> push(setOf(popToMark(), true));             // FROZENSET
                case 'a' -> append(Collections.singletonList(pop()));    // APPEND
                case 'e' -> append(popToMark());                         // APPENDS
                case 's' -> setItems(popTuple(2));                       // SETITEM
                case 'u' -> setItems(popToMark());                       // SETITEMS
                case 'c' -> push(global(utf8Line(), utf8Line()));        // GLOBAL
                case 0x93 -> stackGlobal();                              // STACK_GLOBAL
                case 'R' -> reduce();                                    // REDUCE
                case 0x81 -> newObject(false);                           // NEWOBJ
                case 0x92 -> newObject(true);                            // NEWOBJ_EX
                case 'i' -> instantiate(global(utf8Line(), utf8Line()), popToMark()); // INST
                case 'o' -> obj(popToMark());                            // OBJ
                case 'b' -> build(pop());                                // BUILD
                case 'Q' -> push(persistentLoad(pop()));                 // BINPERSID
                case 'P' -> push(persistentLoad(utf8Line()));            // PERSID
                case 'q' -> memoPut(u8());                               // BINPUT
                case 'r' -> memoPut(u32());                              // LONG_BINPUT
                case 'p' -> memoPut(parseIndex(asciiLine()));            // PUT
                case 0x94 -> memoPut(memo.size());                       // MEMOIZE
                case 'h' -> push(memoGet(u8()));                         // BINGET
                case 'j' -> push(memoGet(u32()));                        // LONG_BINGET
                case 'g' -> push(memoGet(parseIndex(asciiLine())));      // GET
                case 0x82, 0x83, 0x84 -> throw fail("extension registry codes (EXT1/EXT2/EXT4) are not supported");
                case 0x97, 0x98 -> throw fail("out-of-band buffers (NEXT_BUFFER/READONLY_BUFFER) are not supported");
                default -> throw fail(String.format("unknown pickle opcode 0x%02x", op));
            }
        }
    }

    // ---- globals and calls: the allow-list ----

    /** Python 2 module names, as Python 3's unpickler maps them. */
    private static PickleGlobal global(String module, String name) {
        String m = switch (module) {
            case "__builtin__" -> "builtins";
            case "copy_reg" -> "copyreg";
            default -> module;
        };
        return new PickleGlobal(m, name);
    }

    private void stackGlobal() throws CheckpointException {
        Object name = pop();
        Object module = pop();
        if (!(module instanceof String m) || !(name instanceof String n)) {
            throw fail("STACK_GLOBAL needs two str, found " + Pickled.typeName(module) + " and " + Pickled.typeName(name));
        }
        push(global(m, n));
    }

    private void reduce() throws CheckpointException {
        Object args = pop();
        Object callable = pop();
        push(call(callable, args));
    }

    private void instantiate(PickleGlobal cls, List<Object> args) throws CheckpointException {
        push(call(cls, new PyTuple(args)));
    }

    private void obj(List<Object> items) throws CheckpointException {
        if (items.isEmpty()) {
            throw fail("OBJ without a class");
        }
        push(call(items.getFirst(), new PyTuple(items.subList(1, items.size()))));
    }

    /** {@code callable(*args)} for allow-listed globals; an inert record for any other. */
    private Object call(Object callable, Object arguments) throws CheckpointException {
        if (!(callable instanceof PickleGlobal fn)) {
            throw fail("a call of a " + Pickled.typeName(callable) + ", not of a global");
        }
        if (!(arguments instanceof PyTuple args)) {
            throw fail("the arguments of " + fn + " are a " + Pickled.typeName(arguments) + ", not a tuple");
        }
        return switch (fn.qualifiedName()) {
            case "collections.OrderedDict", "builtins.dict" -> dictFromArgs(fn, args);
            case "builtins.set" -> setFromArgs(fn, args, false);
            case "builtins.frozenset" -> setFromArgs(fn, args, true);
            case "builtins.bytes", "builtins.bytearray" -> bytesFromArgs(fn, args);
            case "_codecs.encode" -> bytesFromArgs(fn, args);
            case "torch.Size" -> sizeFromArgs(args);
            case "torch._utils._rebuild_tensor" -> rebuildTensor(args, false);
            case "torch._utils._rebuild_tensor_v2" -> rebuildTensor(args, true);
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" ->
                    rebuildParameter(fn, args);
            case "torch._tensor._rebuild_from_type_v2" -> rebuildFromType(args);
            case "copyreg._reconstructor" -> reconstruct(args);
            default -> new InertObject(fn, args, Map.of());
        };
    }

    private void newObject(boolean withKeywords) throws CheckpointException {
        Object kwargs = withKeywords ? pop() : new PyDict();
        Object args = pop();
        Object cls = pop();
        if (!(cls instanceof PickleGlobal type)) {
            throw fail("NEWOBJ of a " + Pickled.typeName(cls) + ", not of a class");
        }
        if (!(args instanceof PyTuple tuple) || !(kwargs instanceof PyDict keywords)) {
            throw fail("NEWOBJ arguments of " + type + " are not a tuple (and a dict)");
        }
        // cls.__new__(cls, *args) only allocates: the contents come with later opcodes.
        push(switch (type.qualifiedName()) {
            case "collections.OrderedDict", "builtins.dict" -> new PyDict();
            case "builtins.set" -> new PySet(false);
            case "builtins.list" -> new PyList();
            default -> new InertObject(type, tuple, keywords);
        });
    }

    private PyDict dictFromArgs(PickleGlobal fn, PyTuple args) throws CheckpointException {
        PyDict dict = new PyDict();
        if (args.isEmpty()) {
            return dict;
        }
        if (args.size() != 1 || !(args.getFirst() instanceof List<?> pairs)) {
            throw fail(fn + " takes an iterable of pairs, found " + args.size() + " arguments");
        }
        for (Object pair : pairs) {
            if (!(pair instanceof List<?> kv) || kv.size() != 2) {
                throw fail(fn + " takes an iterable of pairs, found a " + Pickled.typeName(pair));
            }
            dict.putItem(key(kv.get(0)), kv.get(1));
        }
        return dict;
    }

    private PySet setFromArgs(PickleGlobal fn, PyTuple args, boolean frozen) throws CheckpointException {
        if (args.isEmpty()) {
            return new PySet(frozen);
        }
        if (args.size() != 1 || !(args.getFirst() instanceof List<?> items)) {
            throw fail(fn + " takes one list or tuple here");
        }
        return setOf(items, frozen);
    }

    /** {@code bytes()}, {@code bytearray()}, {@code bytearray(str, 'latin-1')}, {@code _codecs.encode(str, 'latin1')}. */
    private byte[] bytesFromArgs(PickleGlobal fn, PyTuple args) throws CheckpointException {
        if (args.isEmpty()) {
            return new byte[0];
        }
        if (args.size() != 2 || !(args.get(0) instanceof String text)
                || !("latin1".equals(args.get(1)) || "latin-1".equals(args.get(1)))) {
            throw fail(fn + " is only read as " + fn.name() + "(str, 'latin1')");
        }
        byte[] out = new byte[text.length()];
        for (int i = 0; i < out.length; i++) {
            char c = text.charAt(i);
            if (c > 0xff) {
                throw fail(fn + ": character U+" + Integer.toHexString(c) + " is not latin-1");
            }
            out[i] = (byte) c;
        }
        return out;
    }

    private PyTuple sizeFromArgs(PyTuple args) throws CheckpointException {
        if (args.size() != 1 || !(args.getFirst() instanceof List<?> dims)) {
            throw fail("torch.Size takes one tuple of ints");
        }
        return dims instanceof PyTuple t ? t : new PyTuple(new ArrayList<>(dims));
    }

    /** {@code copyreg._reconstructor(cls, base, state)}: how protocols 0 and 1 write objects. */
    private Object reconstruct(PyTuple args) throws CheckpointException {
        if (args.size() != 3 || !(args.get(0) instanceof PickleGlobal cls)) {
            throw fail("copyreg._reconstructor takes (class, base, state)");
        }
        boolean plainObject = new PickleGlobal("builtins", "object").equals(args.get(1)) && args.get(2) == null;
        return switch (cls.qualifiedName()) {
            case "collections.OrderedDict", "builtins.dict" -> new PyDict();
            default -> new InertObject(cls, plainObject ? List.of() : args.subList(1, 3), Map.of());
        };
    }

    /** {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])}. */
    private PickledTensor rebuildTensor(PyTuple args, boolean v2) throws CheckpointException {
        String fn = v2 ? "torch._utils._rebuild_tensor_v2" : "torch._utils._rebuild_tensor";
        if (v2 ? args.size() < 6 || args.size() > 7 : args.size() != 4) {
            throw fail(fn + " with " + args.size() + " arguments");
        }
        if (!(args.get(0) instanceof TorchStorage storage)) {
            throw fail(fn + ": the storage argument is a " + Pickled.typeName(args.get(0)));
        }
        if (!(args.get(1) instanceof Long offset) || offset < 0) {
            throw fail(fn + ": the storage offset is " + (args.get(1) == null ? "None"
                    : Pickled.typeName(args.get(1)) + " " + args.get(1)) + ", not an int of 0 or more");
        }
        List<Long> shape = dims(fn, "size", args.get(2));
        List<Long> stride = dims(fn, "stride", args.get(3));
        if (shape.size() != stride.size()) {
            throw fail(fn + ": size " + shape + " and stride " + stride + " differ in rank");
        }
        boolean requiresGrad = v2 && Boolean.TRUE.equals(args.get(4));
        return new PickledTensor(storage, offset, shape, stride, requiresGrad);
    }

    private List<Long> dims(String fn, String what, Object value) throws CheckpointException {
        if (!(value instanceof List<?> items) || items.size() > MAX_RANK) {
            throw fail(fn + ": the " + what + " is not a tuple of at most " + MAX_RANK + " ints");
        }
        List<Long> out = new ArrayList<>(items.size());
        for (Object item : items) {
            if (!(item instanceof Long d) || d < 0) {
                throw fail(fn + ": the " + what + " holds " + Pickled.typeName(item) + " " + item);
            }
            out.add(d);
        }
        return out;
    }

    /** A Parameter is its data (the tensor) here; requires_grad is kept, hooks and state ignored. */
    private Object rebuildParameter(PickleGlobal fn, PyTuple args) throws CheckpointException {
        if (args.size() < 3) {
            throw fail(fn + " with " + args.size() + " arguments");
        }
        Object data = args.get(0);
        if (data instanceof PickledTensor t) {
            return new PickledTensor(t.storage(), t.storageOffset(), t.shape(), t.stride(),
                    Boolean.TRUE.equals(args.get(1)));
        }
        return data;
    }

    /** {@code _rebuild_from_type_v2(func, new_type, args, state)}: torch 2's wrapper for tensor subclasses. */
    private Object rebuildFromType(PyTuple args) throws CheckpointException {
        if (args.size() != 4 || !(args.get(0) instanceof PickleGlobal func) || !(args.get(2) instanceof PyTuple inner)) {
            throw fail("torch._tensor._rebuild_from_type_v2 takes (func, new_type, args, state)");
        }
        if (func.qualifiedName().equals("torch._tensor._rebuild_from_type_v2")) {
            throw fail("torch._tensor._rebuild_from_type_v2 calling itself");
        }
        return call(func, inner);
    }

    private TorchStorage persistentLoad(Object pid) throws CheckpointException {
        if (!(pid instanceof PyTuple t) || t.size() != 5 || !"storage".equals(t.get(0))
                || !(t.get(1) instanceof PickleGlobal type) || !type.module().equals("torch")
                || !type.name().endsWith("Storage") || !(t.get(2) instanceof String key)
                || !(t.get(3) instanceof String location) || !(t.get(4) instanceof Long numel) || numel < 0) {
            throw fail("persistent id is not a torch storage reference ('storage', torch.XStorage, key, location, numel)");
        }
        TorchStorage storage = new TorchStorage(key, type.name(), location, numel);
        TorchStorage seen = storages.putIfAbsent(key, storage);
        if (seen == null) {
            return storage;
        }
        if (!seen.type().equals(storage.type()) || seen.numel() != storage.numel()) {
            throw fail("storage '" + key + "' is declared as " + seen.type() + "[" + seen.numel() + "] and as "
                    + storage.type() + "[" + storage.numel() + "]");
        }
        return seen;
    }

    // ---- containers ----

    private PyList listOf(List<Object> items) {
        PyList list = new PyList();
        list.addItems(items);
        return list;
    }

    private PyDict dictOf(List<Object> keysAndValues) throws CheckpointException {
        PyDict dict = new PyDict();
        putAll(dict, keysAndValues);
        return dict;
    }

    private PySet setOf(List<?> items, boolean frozen) throws CheckpointException {
        PySet set = new PySet(frozen);
        for (Object item : items) {
            set.addItem(key(item));
        }
        return set;
    }

    private PyTuple popTuple(int n) throws CheckpointException {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) {
            items[i] = pop();
        }
        return new PyTuple(Arrays.asList(items));
    }

    private void append(List<Object> items) throws CheckpointException {
        switch (peek()) {
            case null -> throw fail("APPEND to None");
            case PyList list -> list.addItems(items);
            case InertObject o -> items.forEach(o::append);
            case Object other -> throw fail("APPEND to a " + Pickled.typeName(other));
        }
    }

    private void addItems(List<Object> items) throws CheckpointException {
        switch (peek()) {
            case null -> throw fail("ADDITEMS to None");
            case PySet set when !set.frozen() -> {
                for (Object item : items) {
                    set.addItem(key(item));
                }
            }
            case InertObject o -> items.forEach(o::append);
            case Object other -> throw fail("ADDITEMS to a " + Pickled.typeName(other));
        }
    }

    private void setItems(List<Object> keysAndValues) throws CheckpointException {
        switch (peek()) {
            case null -> throw fail("SETITEM on None");
            case PyDict dict -> putAll(dict, keysAndValues);
            case InertObject o -> {
                checkPairs(keysAndValues);
                for (int i = 0; i < keysAndValues.size(); i += 2) {
                    o.put(keysAndValues.get(i), keysAndValues.get(i + 1));
                }
            }
            case Object other -> throw fail("SETITEM on a " + Pickled.typeName(other));
        }
    }

    private void putAll(PyDict dict, List<Object> keysAndValues) throws CheckpointException {
        checkPairs(keysAndValues);
        for (int i = 0; i < keysAndValues.size(); i += 2) {
            dict.putItem(key(keysAndValues.get(i)), keysAndValues.get(i + 1));
        }
    }

    private void checkPairs(List<Object> keysAndValues) throws CheckpointException {
        if (keysAndValues.size() % 2 != 0) {
            throw fail("an odd number of items (" + keysAndValues.size() + ") for key/value pairs");
        }
    }

    /** A dict key or set element, refused when Python could not hash it (or it is too large to hash cheaply). */
    private Object key(Object value) throws CheckpointException {
        if (!Pickled.isHashable(value)) {
            throw fail("a " + Pickled.typeName(value) + " as a dict key or set element (unhashable, or a tuple of more than "
                    + Pickled.MAX_KEY_WEIGHT + " elements)");
        }
        return value;
    }

    /** BUILD: objects record their state; dicts (an OrderedDict's {@code _metadata}) and tensors ignore it. */
    private void build(Object state) throws CheckpointException {
        switch (peek()) {
            case null -> throw fail("BUILD on None");
            case InertObject o -> o.setState(state);
            case PyDict _ -> { }
            case PickledTensor _ -> { }
            case Object other -> throw fail("BUILD on a " + Pickled.typeName(other));
        }
    }

    // ---- stack, marks, memo ----

    private void push(Object value) throws CheckpointException {
        if (stack.size() >= MAX_STACK) {
            throw fail("the stack grows beyond " + MAX_STACK + " entries");
        }
        stack.add(value);
    }

    private int fence() {
        return markCount == 0 ? 0 : marks[markCount - 1];
    }

    private Object pop() throws CheckpointException {
        if (stack.size() <= fence()) {
            throw fail("stack underflow");
        }
        return stack.removeLast();
    }

    private Object peek() throws CheckpointException {
        if (stack.size() <= fence()) {
            throw fail("stack underflow");
        }
        return stack.getLast();
    }

    /** POP removes the top object, or the top mark when nothing was pushed after it (as CPython does). */
    private void popTop() throws CheckpointException {
        if (markCount > 0 && marks[markCount - 1] == stack.size()) {
            markCount--;
        } else {
            pop();
        }
    }

    private void pushMark() throws CheckpointException {
        if (markCount == MAX_MARKS) {
            throw fail("more than " + MAX_MARKS + " nested MARKs");
        }
        if (markCount == marks.length) {
            marks = Arrays.copyOf(marks, marks.length * 2);
        }
        marks[markCount++] = stack.size();
    }

    private List<Object> popToMark() throws CheckpointException {
        if (markCount == 0) {
            throw fail("no MARK to pop to");
        }
        int base = marks[--markCount];
        List<Object> top = stack.subList(base, stack.size());
        List<Object> items = new ArrayList<>(top);
        top.clear();
        return items;
    }

    private void memoPut(long index) throws CheckpointException {
        Object value = peek();
        if (memo.size() >= MAX_MEMO && !memo.containsKey(index)) {
            throw fail("the memo grows beyond " + MAX_MEMO + " entries");
        }
        memo.put(index, value);
    }

    private Object memoGet(long index) throws CheckpointException {
        Object value = memo.get(index);
        if (value == null && !memo.containsKey(index)) {
            throw fail("memo entry " + index + " is not defined");
        }
        return value;
    }

    // ---- reading bytes ----

    private void protocol(int version) throws CheckpointException {
        if (version > 5) {
            throw fail("pickle protocol " + version + " (this reader knows 0 to 5)");
        }
    }

    private void skipFrameHeader(long frameLength) throws CheckpointException {
        if (frameLength < 0 || frameLength > end - pos) {
            throw fail("a FRAME of " + Long.toUnsignedString(frameLength) + " bytes, " + (end - pos) + " left");
        }
    }

    /** The offset of the next {@code n} bytes, which must exist; moves past them. */
    private long advance(long n) throws CheckpointException {
        if (n > end - pos) {
            throw fail("truncated: " + n + " more bytes needed, " + (end - pos) + " left");
        }
        long at = pos;
        pos += n;
        return at;
    }

    private int u8() throws CheckpointException {
        return Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, advance(1)));
    }

    private long u32() throws CheckpointException {
        return Integer.toUnsignedLong(data.get(I32, advance(4)));
    }

    private long i64() throws CheckpointException {
        return data.get(I64, advance(8));
    }

    /** An 8-byte length; lengths of 2^63 or more are refused by {@link #bytes} as negative. */
    private long u64() throws CheckpointException {
        return i64();
    }

    /** A signed 4-byte length (BINSTRING, LONG4): negative is an error, as in CPython. */
    private long i32Length() throws CheckpointException {
        int n = data.get(I32, advance(4));
        if (n < 0) {
            throw fail("negative length " + n);
        }
        return n;
    }

    private byte[] bytes(long n) throws CheckpointException {
        if (n < 0 || n > end - pos) {
            throw fail("a string of " + Long.toUnsignedString(n) + " bytes, only " + (end - pos) + " left");
        }
        byte[] out = new byte[(int) n];
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, advance(n), out, 0, out.length);
        return out;
    }

    /** A text opcode's argument: the bytes up to the next newline (bounded). */
    private byte[] line() throws CheckpointException {
        long limit = Math.min(end, pos + MAX_LINE);
        for (long i = pos; i < limit; i++) {
            if (data.get(ValueLayout.JAVA_BYTE, i) == '\n') {
                byte[] out = bytes(i - pos);
                pos++;
                return out;
            }
        }
        throw fail("a text argument without a newline in " + (limit - pos) + " bytes");
    }

    private String asciiLine() throws CheckpointException {
        return new String(line(), StandardCharsets.ISO_8859_1);
    }

    private String utf8Line() throws CheckpointException {
        return decodeUtf8(line());
    }

    private String decodeUtf8(byte[] bytes) throws CheckpointException {
        try {
            return utf8.decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw fail("a string that is not valid UTF-8");
        }
    }

    // ---- numbers and strings of the text protocol ----

    private Object parseIntLine(String text) throws CheckpointException {
        return switch (text) {
            case "00" -> Boolean.FALSE;
            case "01" -> Boolean.TRUE;
            default -> parseInteger(text);
        };
    }

    private Object parseLongLine(String text) throws CheckpointException {
        return parseInteger(text.endsWith("L") ? text.substring(0, text.length() - 1) : text);
    }

    private Object parseInteger(String text) throws CheckpointException {
        String t = text.strip();
        if (t.length() > MAX_INT_DIGITS || !t.matches("[+-]?[0-9]+")) {
            throw fail("not a decimal integer (of at most " + MAX_INT_DIGITS + " digits): '" + abbreviate(t) + "'");
        }
        return normalize(new BigInteger(t));
    }

    private long parseIndex(String text) throws CheckpointException {
        if (!(parseInteger(text) instanceof Long index) || index < 0) {
            throw fail("memo index '" + abbreviate(text) + "'");
        }
        return index;
    }

    private Double parseFloatLine(String text) throws CheckpointException {
        String t = text.strip().toLowerCase(Locale.ROOT);
        switch (t) {
            case "inf", "+inf", "infinity", "+infinity" -> {
                return Double.POSITIVE_INFINITY;
            }
            case "-inf", "-infinity" -> {
                return Double.NEGATIVE_INFINITY;
            }
            case "nan", "+nan", "-nan" -> {
                return Double.NaN;
            }
            default -> {
                if (!t.matches("[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)(e[+-]?[0-9]+)?")) {
                    throw fail("not a float: '" + abbreviate(t) + "'");
                }
                return Double.parseDouble(t);
            }
        }
    }

    /** LONG1/LONG4: a little-endian two's complement integer of {@code n} bytes. */
    private Object littleEndianInt(long n) throws CheckpointException {
        if (n > MAX_INT_BYTES) {
            throw fail("an integer of " + n + " bytes (at most " + MAX_INT_BYTES + " are read)");
        }
        byte[] le = bytes(n);
        if (le.length == 0) {
            return 0L;
        }
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) {
            be[i] = le[le.length - 1 - i];
        }
        return normalize(new BigInteger(be));
    }

    private static Object normalize(BigInteger value) {
        return value.bitLength() < 64 ? (Object) value.longValue() : value;
    }

    /** STRING's argument: a quoted Python 2 string literal with backslash escapes. */
    private byte[] unquote(byte[] quoted) throws CheckpointException {
        int n = quoted.length;
        if (n < 2 || quoted[0] != quoted[n - 1] || (quoted[0] != '\'' && quoted[0] != '"')) {
            throw fail("the STRING opcode's argument is not quoted");
        }
        byte[] out = new byte[n - 2];
        int len = 0;
        for (int i = 1; i < n - 1; i++) {
            byte b = quoted[i];
            if (b != '\\') {
                out[len++] = b;
                continue;
            }
            if (i + 1 == n - 1) {
                throw fail("a STRING ends in a lone backslash (Python refuses it: trailing \\ in string)");
            }
            byte e = quoted[++i];
            switch (e) {
                case '\\', '\'', '"' -> out[len++] = e;
                case 'n' -> out[len++] = '\n';
                case 'r' -> out[len++] = '\r';
                case 't' -> out[len++] = '\t';
                case 'a' -> out[len++] = 7;
                case 'b' -> out[len++] = '\b';
                case 'f' -> out[len++] = '\f';
                case 'v' -> out[len++] = 11;
                case '\n' -> { }
                case 'x' -> {
                    int hi = i + 2 < n - 1 ? Character.digit(quoted[i + 1], 16) : -1;
                    int lo = i + 2 < n - 1 ? Character.digit(quoted[i + 2], 16) : -1;
                    if (hi < 0 || lo < 0) {
                        throw fail("invalid \\x escape in a STRING");
                    }
                    out[len++] = (byte) (hi * 16 + lo);
                    i += 2;
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int value = e - '0';
                        for (int k = 0; k < 2 && i + 1 < n - 1 && quoted[i + 1] >= '0' && quoted[i + 1] <= '7'; k++) {
                            value = value * 8 + (quoted[++i] - '0');
                        }
                        out[len++] = (byte) value;
                    } else {
                        out[len++] = '\\';
                        out[len++] = e;
                    }
                }
            }
        }
        return Arrays.copyOf(out, len);
    }

    /** UNICODE's argument: latin-1 bytes where an odd run of backslashes before u/U starts an escape. */
    private String rawUnicodeEscape(byte[] raw) throws CheckpointException {
        StringBuilder out = new StringBuilder(raw.length);
        int i = 0;
        while (i < raw.length) {
            int b = raw[i] & 0xff;
            if (b != '\\') {
                out.append((char) b);
                i++;
                continue;
            }
            int run = 0;
            while (i < raw.length && raw[i] == '\\') {
                run++;
                i++;
            }
            boolean escape = run % 2 == 1 && i < raw.length && (raw[i] == 'u' || raw[i] == 'U');
            out.append("\\".repeat(escape ? run - 1 : run));
            if (escape) {
                int digits = raw[i] == 'u' ? 4 : 8;
                if (i + digits >= raw.length) {
                    throw fail("a truncated \\u escape in a UNICODE string");
                }
                long cp = 0;
                for (int k = 1; k <= digits; k++) {
                    int d = Character.digit(raw[i + k], 16);
                    if (d < 0) {
                        throw fail("an invalid \\u escape in a UNICODE string");
                    }
                    cp = cp * 16 + d;
                }
                if (cp > Character.MAX_CODE_POINT) {
                    throw fail("an escape beyond U+10FFFF in a UNICODE string");
                }
                out.appendCodePoint((int) cp);
                i += digits + 1;
            }
        }
        return out.toString();
    }

    private static String abbreviate(String text) {
        return text.length() <= 40 ? text : text.substring(0, 40) + "...";
    }

    private CheckpointException fail(String fault) {
        return new CheckpointException(file, source + " at byte " + opStart + ": " + fault);
    }
}
