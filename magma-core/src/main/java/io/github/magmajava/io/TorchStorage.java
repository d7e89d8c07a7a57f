package io.github.magmajava.io;

import java.util.Map;
import java.util.Optional;

/**
 * A storage named by a torch pickle's persistent id {@code ('storage', torch.HalfStorage, key,
 * location, numel)}: its bytes are the zip entry {@code <prefix>/data/<key>}.
 *
 * @param key      the entry name under {@code data/}
 * @param type     the storage class, e.g. {@code HalfStorage}
 * @param location where torch saved it from, e.g. {@code cpu} or {@code cuda:0}
 * @param numel    the number of elements
 */
public record TorchStorage(String key, String type, String location, long numel) {
    /** The dtype names torch prints for the storage classes magma-java does not read. */
    private static final Map<String, String> OTHER_DTYPES = Map.ofEntries(
            Map.entry("DoubleStorage", "float64"), Map.entry("IntStorage", "int32"),
            Map.entry("ShortStorage", "int16"), Map.entry("CharStorage", "int8"),
            Map.entry("ByteStorage", "uint8"), Map.entry("ComplexFloatStorage", "complex64"),
            Map.entry("ComplexDoubleStorage", "complex128"), Map.entry("QInt8Storage", "qint8"),
            Map.entry("QUInt8Storage", "quint8"), Map.entry("QInt32Storage", "qint32"),
            Map.entry("UntypedStorage", "untyped bytes"));

    /** The element type, empty for a storage class magma-java does not read (e.g. IntStorage). */
    public Optional<DType> dtype() {
        return DType.fromTorchStorage(type);
    }

    /** The dtype as torch prints it, for messages: {@code float16}, {@code int32}, ... */
    public String dtypeName() {
        return dtype().map(DType::torchName).orElseGet(() -> OTHER_DTYPES.getOrDefault(type, type));
    }
}
