package io.github.magmajava.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file, memory-mapped: an 8-byte little-endian header length, a JSON header
 * ({@code {"name": {"dtype": "F16", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {..}}}), then the tensor bytes. Tensors are read-only views (no copy). The header
 * is validated before anything is trusted: bounded length, known dtypes, sizes that match the
 * shapes, offsets that tile the data exactly (in bounds, no overlap, no hole).
 */
public final class SafetensorsFile implements TensorFile {
    /** The largest header read: far above any real one, small enough to parse safely. */
    static final long MAX_HEADER_BYTES = 100L << 20;
    static final String METADATA_KEY = "__metadata__";

    /** Strict JSON: duplicate keys, trailing tokens and deep nesting are errors. */
    static final ObjectMapper JSON = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16).maxNumberLength(32).build())
                    .build())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final Path path;
    private final MappedFile mapped;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, MappedFile mapped, Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.path = path;
        this.mapped = mapped;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Maps the file and validates its header. */
    public static SafetensorsFile open(Path file) throws CheckpointException {
        MappedFile mapped = MappedFile.open(file);
        boolean opened = false;
        try {
            SafetensorsFile result = read(file, mapped);
            opened = true;
            return result;
        } finally {
            if (!opened) {
                mapped.close();
            }
        }
    }

    private record Span(String name, DType dtype, long[] shape, long begin, long end) {
    }

    private static SafetensorsFile read(Path file, MappedFile mapped) throws CheckpointException {
        MemorySegment bytes = mapped.bytes();
        long size = bytes.byteSize();
        if (size < 8) {
            throw new CheckpointException(file, "only " + size + " bytes: too short for a safetensors header");
        }
        long headerLength = bytes.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8) {
            throw new CheckpointException(file, "the header length " + Long.toUnsignedString(headerLength)
                    + " exceeds the file (" + size + " bytes) or the " + (MAX_HEADER_BYTES >> 20) + " MiB limit");
        }
        JsonNode header = parseHeader(file, bytes.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE));
        long dataStart = 8 + headerLength;
        long dataSize = size - dataStart;
        Map<String, String> metadata = Map.of();
        List<Span> spans = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : header.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = metadata(file, field.getValue());
            } else {
                spans.add(span(file, field.getKey(), field.getValue()));
            }
        }
        spans.sort(Comparator.comparingLong(Span::begin).thenComparingLong(Span::end));
        long expected = 0;
        for (Span s : spans) {
            if (s.begin() != expected) {
                throw new CheckpointException(file, "tensor '" + s.name() + "' begins at data byte " + s.begin()
                        + (s.begin() < expected ? ", overlapping the tensor before it, which ends at " : ", leaving a hole after ")
                        + expected);
            }
            expected = s.end();
        }
        if (expected != dataSize) {
            throw new CheckpointException(file, "the tensors cover " + expected + " data bytes but the file has "
                    + dataSize + " after its header");
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Span s : spans) {
            MemorySegment data = bytes.asSlice(dataStart + s.begin(), s.end() - s.begin()).asReadOnly();
            tensors.put(s.name(), new Tensor(s.name(), s.dtype(), s.shape(), data));
        }
        return new SafetensorsFile(file, mapped, Collections.unmodifiableMap(tensors), metadata);
    }

    private static JsonNode parseHeader(Path file, byte[] raw) throws CheckpointException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointException(file, "the header is not valid UTF-8");
        }
        JsonNode header;
        try {
            header = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(file, "the header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (header == null || !header.isObject()) {
            throw new CheckpointException(file, "the header is not a JSON object");
        }
        return header;
    }

    private static Map<String, String> metadata(Path file, JsonNode node) throws CheckpointException {
        if (!node.isObject()) {
            throw new CheckpointException(file, METADATA_KEY + " is not an object of strings");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw new CheckpointException(file, METADATA_KEY + " entry '" + e.getKey() + "' is not a string");
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
        return Collections.unmodifiableMap(out);
    }

    private static Span span(Path file, String name, JsonNode node) throws CheckpointException {
        if (!node.isObject() || node.size() != 3 || !node.has("dtype") || !node.has("shape") || !node.has("data_offsets")) {
            throw new CheckpointException(file, "tensor '" + name + "': the header entry is not {dtype, shape, data_offsets}");
        }
        JsonNode dtypeNode = node.get("dtype");
        DType dtype = dtypeNode.isTextual() ? DType.fromSafetensors(dtypeNode.textValue()).orElse(null) : null;
        if (dtype == null) {
            throw new CheckpointException(file, "tensor '" + name + "' has dtype " + dtypeNode
                    + "; magma-java reads F16, BF16, F32, I64, I8 and BOOL");
        }
        long[] shape = longs(file, name, "shape", node.get("shape"), -1);
        long[] offsets = longs(file, name, "data_offsets", node.get("data_offsets"), 2);
        long numel;
        try {
            numel = Math.multiplyExact(Tensor.numel(shape), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new CheckpointException(file, "tensor '" + name + "': shape " + node.get("shape") + " is too large");
        }
        if (offsets[1] < offsets[0] || offsets[1] - offsets[0] != numel) {
            throw new CheckpointException(file, "tensor '" + name + "': data_offsets " + node.get("data_offsets")
                    + " span " + (offsets[1] - offsets[0]) + " bytes, " + dtype.safetensorsName() + node.get("shape")
                    + " needs " + numel);
        }
        return new Span(name, dtype, shape, offsets[0], offsets[1]);
    }

    /** An array of non-negative int64 (of {@code length} elements when that is not -1; at most 64). */
    private static long[] longs(Path file, String name, String what, JsonNode node, int length) throws CheckpointException {
        if (!node.isArray() || (length >= 0 && node.size() != length) || node.size() > 64) {
            throw new CheckpointException(file, "tensor '" + name + "': " + what + " is not a list of "
                    + (length >= 0 ? length + " " : "") + "integers");
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new CheckpointException(file, "tensor '" + name + "': " + what + " holds " + v
                        + ", not a non-negative int64");
            }
            out[i] = v.longValue();
        }
        return out;
    }

    @Override
    public Path path() {
        return path;
    }

    /** Every tensor by name, in data order. */
    @Override
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The header's {@code __metadata__} (string to string), empty when it has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public void close() {
        mapped.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
