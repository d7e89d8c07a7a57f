package io.github.magmajava.download;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class ProxyFromEnvironmentTest {
    private static String proxyOf(ProxySelector selector, String url) {
        List<Proxy> proxies = selector.select(URI.create(url));
        assertThat(proxies).hasSize(1);
        if (proxies.get(0).type() == Proxy.Type.DIRECT) {
            return "direct";
        }
        InetSocketAddress a = (InetSocketAddress) proxies.get(0).address();
        return a.getHostString() + ":" + a.getPort();
    }

    @Test
    void eachSchemeHasItsVariableLowerCaseFirst() {
        ProxySelector s = ProxyFromEnvironment.of(Map.of("https_proxy", "http://user:secret@proxy.corp:3128/", "HTTPS_PROXY", "other:1",
                "HTTP_PROXY", "plain.corp"), new Properties());
        assertThat(s).isInstanceOf(ProxyFromEnvironment.class);
        assertThat(proxyOf(s, "https://example.com/model.pt")).isEqualTo("proxy.corp:3128");
        assertThat(proxyOf(s, "http://example.com/model.pt")).isEqualTo("plain.corp:1080");
        assertThat(proxyOf(ProxyFromEnvironment.of(Map.of("HTTP_PROXY", "[fd00::1]:8080"), new Properties()), "http://example.com/"))
                .isEqualTo("fd00::1:8080");
        assertThat(proxyOf(ProxyFromEnvironment.of(Map.of("http_proxy", "p:1"), new Properties()), "https://example.com/")).isEqualTo("direct");
    }

    @Test
    void noProxyAndLoopbackGoDirect() {
        ProxySelector s = ProxyFromEnvironment.of(Map.of("https_proxy", "proxy:3128", "http_proxy", "proxy:3128",
                "NO_PROXY", " example.com, .internal ,*.corp.net,files.org:8443"), new Properties());
        assertThat(proxyOf(s, "https://example.com/x")).isEqualTo("direct");
        assertThat(proxyOf(s, "https://cdn.example.com/x")).isEqualTo("direct");
        assertThat(proxyOf(s, "https://notexample.com/x")).isEqualTo("proxy:3128");
        assertThat(proxyOf(s, "https://a.b.internal/x")).isEqualTo("direct");
        assertThat(proxyOf(s, "https://internal/x")).isEqualTo("direct");
        assertThat(proxyOf(s, "https://host.corp.net/x")).isEqualTo("direct");
        assertThat(proxyOf(s, "https://files.org:8443/x")).isEqualTo("direct");
        assertThat(proxyOf(s, "https://files.org/x")).isEqualTo("proxy:3128");
        assertThat(proxyOf(s, "http://127.0.0.1:8080/x")).isEqualTo("direct");
        assertThat(proxyOf(s, "http://localhost/x")).isEqualTo("direct");
        assertThat(proxyOf(s, "http://[::1]/x")).isEqualTo("direct");
        ProxySelector all = ProxyFromEnvironment.of(Map.of("https_proxy", "proxy:3128", "no_proxy", "*"), new Properties());
        assertThat(proxyOf(all, "https://anything.org/")).isEqualTo("direct");
    }

    @Test
    void javasOwnPropertiesWin() {
        Properties java = new Properties();
        java.setProperty("https.proxyHost", "javaproxy");
        assertThat(ProxyFromEnvironment.of(Map.of("https_proxy", "proxy:3128"), java)).isNotInstanceOf(ProxyFromEnvironment.class);
        assertThat(ProxyFromEnvironment.of(Map.of(), new Properties())).isNotInstanceOf(ProxyFromEnvironment.class);
        assertThat(ProxyFromEnvironment.of(Map.of("https_proxy", " "), new Properties())).isNotInstanceOf(ProxyFromEnvironment.class);
    }

    @Test
    void aMalformedProxyIsNamed() {
        assertThatThrownBy(() -> ProxyFromEnvironment.of(Map.of("HTTPS_PROXY", "socks5://proxy:1080"), new Properties()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("HTTPS_PROXY").hasMessageContaining("socks5://proxy:1080");
        assertThatThrownBy(() -> ProxyFromEnvironment.of(Map.of("http_proxy", "proxy:99999"), new Properties()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[http://]host[:port]");
    }
}
