package io.github.magmajava.io;

import java.util.Arrays;
import java.util.Optional;

/** The element types a MAGMA checkpoint may hold, spelled as torch and safetensors spell them. */
public enum DType {
    FLOAT16("float16", 2, "HalfStorage", "F16"),
    BFLOAT16("bfloat16", 2, "BFloat16Storage", "BF16"),
    FLOAT32("float32", 4, "FloatStorage", "F32"),
    INT64("int64", 8, "LongStorage", "I64"),
    /** Quantized weights (the int8 cache of {@code --weights q8}). */
    INT8("int8", 1, "CharStorage", "I8"),
    BOOL("bool", 1, "BoolStorage", "BOOL");

    private final String torchName;
    private final int byteSize;
    private final String torchStorage;
    private final String safetensorsName;

    DType(String torchName, int byteSize, String torchStorage, String safetensorsName) {
        this.torchName = torchName;
        this.byteSize = byteSize;
        this.torchStorage = torchStorage;
        this.safetensorsName = safetensorsName;
    }

    /** As {@code str(tensor.dtype)} prints it, without the {@code torch.} prefix. */
    public String torchName() {
        return torchName;
    }

    public int byteSize() {
        return byteSize;
    }

    /** The storage class name in a torch pickle, e.g. {@code HalfStorage}. */
    public String torchStorage() {
        return torchStorage;
    }

    /** The dtype string of a safetensors header, e.g. {@code F16}. */
    public String safetensorsName() {
        return safetensorsName;
    }

    public boolean isFloatingPoint() {
        return this == FLOAT16 || this == BFLOAT16 || this == FLOAT32;
    }

    public static Optional<DType> fromTorchStorage(String storageClass) {
        return Arrays.stream(values()).filter(d -> d.torchStorage.equals(storageClass)).findFirst();
    }

    public static Optional<DType> fromSafetensors(String name) {
        return Arrays.stream(values()).filter(d -> d.safetensorsName.equals(name)).findFirst();
    }
}
