package io.github.magmajava.download;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

class ServerResponseTest {
    private static final URI URL = URI.create("https://example.com/files/model.pt?token=1");

    @Test
    void theNameComesFromContentDispositionElseTheUrl() {
        assertThat(ServerResponse.fileName(URL, null)).isEqualTo("model.pt");
        assertThat(ServerResponse.fileName(URL, "attachment; filename=\"mp_rank_00_model_states.pt\"")).isEqualTo("mp_rank_00_model_states.pt");
        assertThat(ServerResponse.fileName(URL, "attachment; filename=plain.pt; size=3")).isEqualTo("plain.pt");
        assertThat(ServerResponse.fileName(URL, "attachment; filename=\"fallback.pt\"; filename*=UTF-8''m%C3%A4gma%20v1.pt"))
                .isEqualTo("m_gma_v1.pt");
        assertThat(ServerResponse.fileName(URL, "inline")).isEqualTo("model.pt");
        assertThat(ServerResponse.fileName(URI.create("https://example.com/my%20model+v1.pt"), null)).isEqualTo("my_model+v1.pt");
    }

    @Test
    void theNameStaysInTheDirectory() {
        assertThat(ServerResponse.fileName(URL, "attachment; filename=\"../../.bashrc\"")).isEqualTo("bashrc");
        assertThat(ServerResponse.fileName(URL, "attachment; filename=\"..\\\\evil.pt\"")).isEqualTo("evil.pt");
        assertThat(ServerResponse.fileName(URI.create("https://example.com"), null)).isEqualTo("download");
        assertThat(ServerResponse.fileName(URI.create("https://example.com/dir/"), null)).isEqualTo("download");
        assertThat(ServerResponse.fileName(URI.create("https://example.com/a%2F..%2F..%2Fx.pt"), null)).isEqualTo("x.pt");
    }

    @Test
    void contentRange() {
        assertThat(ServerResponse.ContentRange.parse("bytes 100-199/200")).isEqualTo(new ServerResponse.ContentRange(100, 199, 200));
        assertThat(ServerResponse.ContentRange.parse("bytes 0-9/*")).isEqualTo(new ServerResponse.ContentRange(0, 9, -1));
        assertThat(ServerResponse.ContentRange.parse("bytes */200")).isNull();
        assertThat(ServerResponse.ContentRange.parse(null)).isNull();
    }
}
