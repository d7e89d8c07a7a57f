package bench;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/** Jetty 12 core Handler API (no servlets): GET /health and an SSE stream on GET /sse. */
public final class JettyBench {
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 18081;
        // Blocking handlers (Handler.Abstract is InvocationType.BLOCKING) run on this executor's virtual threads.
        QueuedThreadPool pool = new QueuedThreadPool();
        pool.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        Server server = new Server(pool);
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(port);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                switch (Request.getPathInContext(request)) {
                    case "/health" -> Content.Sink.write(response, true, "ok", callback);
                    case "/sse" -> sse(response, callback);
                    default -> Response.writeError(request, response, callback, 404);
                }
                return true;
            }
        });
        server.start();
    }

    private static void sse(Response response, Callback callback) {
        System.err.println("sse on " + Thread.currentThread());
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        int n = 0;
        // Each write on this stream is a blocking write to the connection; it throws once the client is gone.
        try (OutputStream out = Content.Sink.asOutputStream(response)) {
            for (; n < 50; n++) {
                out.write(("data: {\"i\":" + n + "}\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                Thread.sleep(20);
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        } catch (IOException | InterruptedException e) {
            System.err.println("disconnected after " + n);
            callback.failed(e);
            return;
        }
        callback.succeeded();
    }
}
