package io.github.magmajava.download;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The proxies of the environment's variables, as curl and most command-line tools read them:
 * {@code https_proxy} (or {@code HTTPS_PROXY}) for https URLs, {@code http_proxy} (or
 * {@code HTTP_PROXY}) for http URLs, lower case first; hosts listed in {@code no_proxy} (or
 * {@code NO_PROXY}: names, {@code .domain} suffixes, {@code host:port}, {@code *} for all) and
 * loopback addresses go direct. A proxy is {@code [http://]host[:port]} (port 1080 when absent,
 * as curl); credentials in it are not used.
 */
public final class ProxyFromEnvironment extends ProxySelector {
    private static final List<String> JAVA_PROPERTIES = List.of("http.proxyHost", "https.proxyHost", "socksProxyHost",
            "java.net.useSystemProxies");
    private static final Pattern PROXY = Pattern.compile("(?:([A-Za-z][A-Za-z0-9+.-]*)://)?(?:[^@/]*@)?(\\[[^\\]]+\\]|[^:/\\[\\]]+)(?::(\\d{1,5}))?/?");
    private static final Pattern HOST_PORT = Pattern.compile("(.*[^:]|\\[.*\\]):(\\d{1,5})");

    private final Proxy http;
    private final Proxy https;
    private final List<String> noProxy;

    ProxyFromEnvironment(Map<String, String> env) {
        this.http = proxy(env, "http_proxy");
        this.https = proxy(env, "https_proxy");
        String list = variable(env, "no_proxy");
        this.noProxy = list == null ? List.of()
                : Arrays.stream(list.split(",")).map(s -> s.strip().toLowerCase(Locale.ROOT)).filter(s -> !s.isEmpty()).toList();
    }

    /**
     * Java's default selector when one of Java's proxy properties ({@code -Dhttps.proxyHost} ...)
     * is set or the environment names no proxy; else the environment's proxies.
     *
     * @throws IllegalArgumentException when a proxy variable does not read as {@code [http://]host[:port]}
     */
    public static ProxySelector of(Map<String, String> env, Properties properties) {
        boolean javaProxies = JAVA_PROPERTIES.stream().anyMatch(p -> {
            String v = properties.getProperty(p);
            return v != null && !v.isBlank() && !v.equalsIgnoreCase("false");
        });
        if (javaProxies || (variable(env, "http_proxy") == null && variable(env, "https_proxy") == null)) {
            return ProxySelector.getDefault() != null ? ProxySelector.getDefault() : HttpClient.Builder.NO_PROXY;
        }
        return new ProxyFromEnvironment(env);
    }

    /** The process's own settings: {@code of(System.getenv(), System.getProperties())}. */
    public static ProxySelector fromSystem() {
        return of(System.getenv(), System.getProperties());
    }

    @Override
    public List<Proxy> select(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        Proxy proxy = scheme.equals("https") ? https : scheme.equals("http") ? http : Proxy.NO_PROXY;
        if (proxy == Proxy.NO_PROXY || uri.getHost() == null || bypassed(uri.getHost(), port(uri))) {
            return List.of(Proxy.NO_PROXY);
        }
        return List.of(proxy);
    }

    @Override
    public void connectFailed(URI uri, SocketAddress address, IOException failure) {
        // one proxy per scheme: nothing else to try
    }

    /** True when {@code host} goes direct: a loopback address, or a match in {@code no_proxy}. */
    boolean bypassed(String host, int port) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.equals("localhost") || h.startsWith("127.") || h.equals("[::1]") || h.equals("::1")) {
            return true;
        }
        for (String entry : noProxy) {
            if (entry.equals("*")) {
                return true;
            }
            String name = entry;
            Matcher m = HOST_PORT.matcher(entry);
            if (m.matches()) {
                if (Integer.parseInt(m.group(2)) != port) {
                    continue;
                }
                name = m.group(1);
            }
            name = name.startsWith("*.") ? name.substring(1) : name;
            String domain = name.startsWith(".") ? name.substring(1) : name;
            if (h.equals(domain) || h.endsWith("." + domain)) {
                return true;
            }
        }
        return false;
    }

    private static int port(URI uri) {
        if (uri.getPort() >= 0) {
            return uri.getPort();
        }
        return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    /** The value of {@code name} in lower case, else in upper case; null when neither is set or both are blank. */
    private static String variable(Map<String, String> env, String name) {
        for (String n : List.of(name, name.toUpperCase(Locale.ROOT))) {
            String v = env.get(n);
            if (v != null && !v.isBlank()) {
                return v.strip();
            }
        }
        return null;
    }

    private static Proxy proxy(Map<String, String> env, String name) {
        String value = variable(env, name);
        if (value == null) {
            return Proxy.NO_PROXY;
        }
        Matcher m = PROXY.matcher(value);
        int port = m.matches() && m.group(3) != null ? Integer.parseInt(m.group(3)) : 1080;
        if (!m.matches() || port < 1 || port > 65535 || (m.group(1) != null && !m.group(1).equalsIgnoreCase("http"))) {
            throw new IllegalArgumentException("the proxy " + name + " (or " + name.toUpperCase(Locale.ROOT) + ") = '" + value
                    + "' does not read as [http://]host[:port]");
        }
        String host = m.group(2).startsWith("[") ? m.group(2).substring(1, m.group(2).length() - 1) : m.group(2);
        return new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved(host, port));
    }
}
