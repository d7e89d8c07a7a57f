package io.github.magmajava.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The checkpoint fixtures of tools/fixtures/make_checkpoint_fixtures.py (real torch.save files)
 * and the listing torch itself saw, from expected.json.
 */
public final class CheckpointFixtures {
    private static final String ROOT = "/fixtures/checkpoint/";

    private CheckpointFixtures() {
    }

    /** One tensor as torch lists it: raw little-endian bytes as hex, the first values when finite. */
    public record ExpectedTensor(String name, String dtype, List<Long> shape, String hex, List<Double> first) {
        public byte[] bytes() {
            return HexFormat.of().parseHex(hex);
        }
    }

    /** The fixture as a file (copied out when the test resources are inside a jar). */
    public static Path path(String name) {
        URL url = CheckpointFixtures.class.getResource(ROOT + name);
        if (url == null) {
            throw new IllegalArgumentException("no fixture " + name);
        }
        try {
            if (url.getProtocol().equals("file")) {
                return Path.of(url.toURI());
            }
            Path copy = Files.createTempDirectory("magma-fixture").resolve(name);
            try (InputStream in = url.openStream()) {
                Files.copy(in, copy);
            }
            copy.toFile().deleteOnExit();
            return copy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static byte[] bytes(String name) {
        try {
            return Files.readAllBytes(path(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What torch lists for the fixture {@code file}, in state dict order. */
    public static List<ExpectedTensor> expected(String file) {
        try (InputStream in = CheckpointFixtures.class.getResourceAsStream(ROOT + "expected.json")) {
            JsonNode root = new ObjectMapper().readTree(in);
            String listing = root.path("files").path(file).asText(null);
            if (listing == null) {
                throw new IllegalArgumentException("expected.json lists no file " + file);
            }
            List<ExpectedTensor> out = new ArrayList<>();
            for (JsonNode t : root.path("listings").path(listing)) {
                List<Long> shape = new ArrayList<>();
                t.path("shape").forEach(d -> shape.add(d.longValue()));
                List<Double> first = null;
                if (!t.path("first").isNull()) {
                    first = new ArrayList<>();
                    for (JsonNode v : t.path("first")) {
                        first.add(v.doubleValue());
                    }
                }
                out.add(new ExpectedTensor(t.path("name").asText(), t.path("dtype").asText(), shape,
                        t.path("hex").asText(), first));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
