package bench;

import io.javalin.Javalin;
import io.javalin.http.sse.SseClient;

/** Javalin 7 (on Jetty 12 + servlets): GET /health and an SSE stream on GET /sse (SseClient). */
public final class JavalinBench {
    public static void main(String[] args) {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 18083;
        Javalin.create(config -> {
            config.concurrency.useVirtualThreads = true; // Jetty request threads and ctx.async() on virtual threads
            config.startup.showJavalinBanner = false;
            config.jetty.host = "127.0.0.1";
            config.jetty.port = port;
            config.routes.get("/health", ctx -> ctx.result("ok"));
            config.routes.sse("/sse", JavalinBench::sse); // requires "Accept: text/event-stream"
        }).start();
    }

    private static void sse(SseClient client) {
        System.err.println("sse on " + Thread.currentThread());
        // sendData() writes and flushes one "data:" event; a failed write marks the client terminated.
        for (int n = 0; n < 50; n++) {
            client.sendData("{\"i\":" + n + "}");
            if (client.terminated()) {
                System.err.println("disconnected after " + n);
                return;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
        }
        client.sendData("[DONE]");
    }
}
