package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code magma serve} as a real process: it says where it listens and when it is ready, answers, and stops on SIGTERM. */
@Timeout(120)
class ServeProcessTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));
    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/");

    @Test
    void servesUntilSigtermThenStopsGracefully() throws Exception {
        Path model = FIXTURES.resolve("magma/tiny_a");
        Process p = CliProcessTest.launcher("serve", "--checkpoint", model.resolve("model.pt").toString(), "--model-config",
                model.resolve("config.json").toString(), "--port", "0", "--threads", "1").redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
            int port = -1;
            String line;
            while ((line = err.readLine()) != null) {
                lines.add(line);
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                }
                if (line.startsWith("serve: ready")) {
                    break;
                }
            }
            assertThat(port).as("stderr: %s", lines).isPositive();
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body()).contains("\"model\":\"tiny_a\"");
            // SIGTERM, as a container runtime sends it (Process.destroy would also close our end of stderr)
            assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor()).isZero();
            while ((line = err.readLine()) != null) {
                lines.add(line);
            }
        }
        assertThat(CliProcessTest.waitFor(p)).isEqualTo(143);
        assertThat(lines).anyMatch(l -> l.startsWith("serve: stopping"));
        assertThat(lines).noneMatch(l -> l.contains("Exception") || l.contains("SLF4J") || l.contains("WARNING"));
    }
}
