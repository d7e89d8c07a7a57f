package bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/** The JDK's built-in com.sun.net.httpserver: GET /health and a hand-written SSE stream on GET /sse. */
public final class JdkBench {
    public static void main(String[] args) throws IOException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 18085;
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor()); // one virtual thread per exchange
        server.createContext("/health", ex -> {
            byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
        server.createContext("/sse", JdkBench::sse);
        server.start();
    }

    private static void sse(HttpExchange ex) throws IOException {
        System.err.println("sse on " + Thread.currentThread());
        ex.getResponseHeaders().set("Content-Type", "text/event-stream");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.sendResponseHeaders(200, 0); // 0 = chunked
        int n = 0;
        // flush() sends the pending chunk; write/flush throw IOException once the client is gone.
        try (OutputStream out = ex.getResponseBody()) {
            for (; n < 50; n++) {
                out.write(("data: {\"i\":" + n + "}\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                Thread.sleep(20);
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        } catch (IOException | InterruptedException e) {
            System.err.println("disconnected after " + n);
        }
    }
}
