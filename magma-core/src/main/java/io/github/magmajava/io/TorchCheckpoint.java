package io.github.magmajava.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@code torch.save} checkpoint (the zip format of torch 1.6 and later), read without running
 * any of its pickle: the file is memory-mapped, {@code <prefix>/data.pkl} is read by a
 * {@link Unpickler} that only builds data, and every tensor of the state dict is a read-only view
 * on its storage entry {@code <prefix>/data/<key>} (no copy; aliases share memory).
 *
 * <p>The state dict is the dict under the top-level key {@code module} when there is one
 * (DeepSpeed's layout, MAGMA's checkpoint), else the top-level dict. Its tensors must be
 * contiguous and of a {@link DType}; any other tensor there is an error naming it. Non-tensor
 * values are skipped, and everything outside the state dict is left in {@link #root()}.
 */
public final class TorchCheckpoint implements TensorFile {
    private final Path path;
    private final MappedFile mapped;
    private final Object root;
    private final Map<String, Tensor> tensors;

    private TorchCheckpoint(Path path, MappedFile mapped, Object root, Map<String, Tensor> tensors) {
        this.path = path;
        this.mapped = mapped;
        this.root = root;
        this.tensors = tensors;
    }

    /**
     * Maps and reads the checkpoint. Tensor bytes are not read here: pages are loaded when a
     * tensor is first touched.
     *
     * @throws CheckpointException naming the file (and the entry, pickle offset or tensor) when it
     *     is not a readable torch.save zip or its state dict holds a tensor magma-java cannot view
     */
    public static TorchCheckpoint open(Path file) throws CheckpointException {
        MappedFile mapped = MappedFile.open(file);
        boolean opened = false;
        try {
            StoredZip zip = StoredZip.read(file, mapped.bytes());
            String prefix = archivePrefix(file, zip);
            StoredZip.Entry pickle = zip.entries().get(prefix + "data.pkl");
            if (pickle == null) {
                throw new CheckpointException(file, "no " + prefix + "data.pkl in the zip: not a torch.save checkpoint");
            }
            checkByteOrder(file, zip, prefix);
            Object root = Unpickler.load(file, pickle.name(), zip.data(pickle));
            Map<String, Tensor> tensors = new StateDict(file, zip, prefix).tensors(root);
            TorchCheckpoint checkpoint = new TorchCheckpoint(file, mapped, root, tensors);
            opened = true;
            return checkpoint;
        } finally {
            if (!opened) {
                mapped.close();
            }
        }
    }

    /** torch's rule: the folder of the first entry holds the archive. */
    private static String archivePrefix(Path file, StoredZip zip) throws CheckpointException {
        if (zip.entries().isEmpty()) {
            throw new CheckpointException(file, "an empty zip: not a torch.save checkpoint");
        }
        String first = zip.entries().keySet().iterator().next();
        int slash = first.indexOf('/');
        if (slash < 0) {
            throw new CheckpointException(file, "entry '" + first + "' is not inside a folder: not a torch.save checkpoint");
        }
        return first.substring(0, slash + 1);
    }

    /** torch 2 records the byte order; tensors here are read little-endian. */
    private static void checkByteOrder(Path file, StoredZip zip, String prefix) throws CheckpointException {
        StoredZip.Entry entry = zip.entries().get(prefix + "byteorder");
        if (entry == null) {
            return;
        }
        MemorySegment bytes = zip.data(entry);
        String order = bytes.byteSize() <= 16
                ? new String(bytes.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).strip()
                : "?";
        if (!order.equals("little")) {
            throw new CheckpointException(file, "saved with byte order '" + order + "'; only little-endian checkpoints are read");
        }
    }

    @Override
    public Path path() {
        return path;
    }

    /** The state dict's tensors, in pickle order, aliases and buffers included. */
    @Override
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /**
     * The whole unpickled top-level object, for inspection: read-only Python containers
     * ({@link Map}, {@link List}, {@link java.util.Set}), scalars, {@link PickledTensor}s,
     * {@link InertObject}s and {@link PickleGlobal}s. It may be cyclic: walk it with care.
     */
    public Object root() {
        return root;
    }

    /** Unmaps the file: every tensor of this checkpoint then throws {@link IllegalStateException} when read. */
    @Override
    public void close() {
        mapped.close();
    }

    @Override
    public String toString() {
        return "TorchCheckpoint[" + path + ", " + tensors.size() + " tensors]";
    }

    /** Turns the state dict's pickled tensors into views on the mapped storages. */
    private record StateDict(Path file, StoredZip zip, String prefix) {
        Map<String, Tensor> tensors(Object root) throws CheckpointException {
            if (!(root instanceof Map<?, ?> top)) {
                throw new CheckpointException(file, "the pickle holds a " + Pickled.typeName(root) + ", not a dict");
            }
            Map<?, ?> stateDict = top;
            if (top.containsKey("module")) {
                if (!(top.get("module") instanceof Map<?, ?> module)) {
                    throw new CheckpointException(file, "the top-level 'module' is a "
                            + Pickled.typeName(top.get("module")) + ", not a state dict");
                }
                stateDict = module;
            }
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : stateDict.entrySet()) {
                switch (e.getValue()) {
                    case PickledTensor t when e.getKey() instanceof String name -> out.put(name, view(name, t));
                    case PickledTensor _ -> throw new CheckpointException(file, "a tensor under the key "
                            + Pickled.typeName(e.getKey()) + " " + e.getKey() + ", not a name");
                    case InertObject o when o.module().equals("torch") || o.module().startsWith("torch.") ->
                            throw new CheckpointException(file, "tensor '" + e.getKey() + "' is built by " + o.type()
                                    + ", which magma-java does not read (it reads dense tensors)");
                    case null, default -> { }
                }
            }
            return Collections.unmodifiableMap(out);
        }

        private Tensor view(String name, PickledTensor t) throws CheckpointException {
            TorchStorage storage = t.storage();
            DType dtype = storage.dtype().orElseThrow(() -> fail(name, " is " + storage.dtypeName() + " (torch."
                    + storage.type() + "); magma-java reads float16, bfloat16, float32, int64 and bool tensors"));
            StoredZip.Entry entry = zip.entries().get(prefix + "data/" + storage.key());
            if (entry == null) {
                throw fail(name, ": its storage '" + storage.key() + "' has no entry " + prefix + "data/" + storage.key());
            }
            long item = dtype.byteSize();
            if (Math.multiplyHigh(storage.numel(), item) != 0 || entry.size() != storage.numel() * item) {
                throw fail(name, ": its storage " + entry.name() + " has " + entry.size() + " bytes, the pickle says "
                        + storage.numel() + " x " + dtype.torchName());
            }
            long[] shape = t.shape().stream().mapToLong(Long::longValue).toArray();
            long numel = 1;
            for (long d : shape) {
                numel = Math.multiplyHigh(numel, d) == 0 ? numel * d : -1;
                if (numel < 0) {
                    throw fail(name, ": its shape " + t.shape() + " has more than 2^63 elements");
                }
            }
            if (numel > 0) {
                checkContiguous(name, t);
            }
            long offset = t.storageOffset();
            if (offset > storage.numel() || numel > storage.numel() - offset) {
                throw fail(name, ": its elements [" + offset + ", " + offset + " + " + numel + ") lie outside its storage of "
                        + storage.numel() + " elements");
            }
            MemorySegment bytes = zip.data(entry).asSlice(offset * item, numel * item).asReadOnly();
            return new Tensor(name, dtype, shape, bytes);
        }

        /** Row-major with no gaps; a dimension of size 1 may have any stride (torch agrees). */
        private void checkContiguous(String name, PickledTensor t) throws CheckpointException {
            long expected = 1;
            for (int i = t.shape().size() - 1; i >= 0; i--) {
                long d = t.shape().get(i);
                if (d != 1 && t.stride().get(i) != expected) {
                    throw fail(name, " is not contiguous (shape " + t.shape() + ", strides " + t.stride()
                            + "): save it as tensor.contiguous()");
                }
                expected *= d;
            }
        }

        private CheckpointException fail(String tensor, String fault) {
            return new CheckpointException(file, "tensor '" + tensor + "'" + fault);
        }
    }
}
