package bench;

import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.server.handlers.sse.ServerSentEventConnection;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;

/** Undertow core: GET /health and an SSE stream on GET /sse (ServerSentEventHandler). */
public final class UndertowBench {
    public static void main(String[] args) {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 18084;
        Undertow.builder()
                .addHttpListener(port, "127.0.0.1")
                .setHandler(Handlers.path()
                        .addExactPath("/health", ex -> ex.getResponseSender().send("ok"))
                        // Handlers run on XNIO I/O threads; the blocking producer gets its own virtual thread.
                        .addExactPath("/sse", Handlers.serverSentEvents(
                                (conn, lastEventId) -> Thread.startVirtualThread(() -> sse(conn)))))
                .build()
                .start();
    }

    private static void sse(ServerSentEventConnection conn) {
        System.err.println("sse on " + Thread.currentThread());
        AtomicInteger sent = new AtomicInteger();
        // send() only queues the event; the I/O thread writes it, calls back, and closes the connection on failure.
        ServerSentEventConnection.EventCallback counter = new ServerSentEventConnection.EventCallback() {
            @Override public void done(ServerSentEventConnection c, String data, String event, String id) {
                sent.incrementAndGet();
            }
            @Override public void failed(ServerSentEventConnection c, String data, String event, String id, IOException e) {
            }
        };
        conn.addCloseTask(c -> {
            if (sent.get() <= 50) System.err.println("disconnected after " + sent.get());
        });
        try {
            for (int n = 0; n < 50 && conn.isOpen(); n++) {
                conn.send("{\"i\":" + n + "}", counter);
                Thread.sleep(20);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (conn.isOpen()) {
            conn.send("[DONE]", counter);
            conn.shutdown(); // closes once everything queued is written
        }
    }
}
