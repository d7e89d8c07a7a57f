package bench;

import io.helidon.http.sse.SseEvent;
import io.helidon.webserver.ServerConnectionException;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.helidon.webserver.sse.SseSink;
import java.io.UncheckedIOException;

/** Helidon SE 4 WebServer: GET /health and an SSE stream on GET /sse (helidon-webserver-sse). */
public final class HelidonBench {
    public static void main(String[] args) {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 18082;
        // Helidon 4 runs every request on its own virtual thread; nothing to configure.
        WebServer.builder()
                .host("127.0.0.1")
                .port(port)
                .routing(r -> r.get("/health", (req, res) -> res.send("ok"))
                               .get("/sse", HelidonBench::sse))
                .build()
                .start();
    }

    private static void sse(ServerRequest req, ServerResponse res) {
        System.err.println("sse on " + Thread.currentThread());
        int n = 0;
        // emit() writes and flushes one event; once the client is gone it throws ServerConnectionException
        // (a RuntimeException, not an IOException).
        try (SseSink sink = res.sink(SseSink.TYPE)) {
            for (; n < 50; n++) {
                sink.emit(SseEvent.create("{\"i\":" + n + "}"));
                Thread.sleep(20);
            }
            sink.emit(SseEvent.create("[DONE]"));
        } catch (ServerConnectionException | UncheckedIOException | InterruptedException e) {
            System.err.println("disconnected after " + n);
        }
    }
}
