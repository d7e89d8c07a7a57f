package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.lang.reflect.Method;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * magma-core declares nd4j optional, so its users may have none of nd4j's jars: CpuBackend must
 * then load, say OFF and compute on its pure-Java kernels. Checked in a class loader that sees
 * magma-core and its other dependencies but no nd4j or javacpp class.
 */
class CpuBackendWithoutNd4jTest {
    @Test
    void worksWithoutTheNd4jJars() throws Exception {
        List<URL> urls = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String path = entry.replace('\\', '/');
            if (!path.contains("/org/nd4j/") && !path.contains("/org/bytedeco/")) {
                urls.add(url(entry));
            }
        }
        try (URLClassLoader loader = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader())) {
            assertThat(loader.getResource("org/nd4j/linalg/factory/Nd4j.class")).isNull();
            Class<?> modes = loader.loadClass(OneDnnMode.class.getName());
            Object fp32 = modes.getField("FP32").get(null);
            Class<?> backends = loader.loadClass(CpuBackend.class.getName());
            try (AutoCloseable backend = (AutoCloseable) backends.getMethod("withThreads", int.class, modes).invoke(null, 2, fp32)) {
                assertThat(backends.getMethod("oneDnnMode").invoke(backend)).hasToString("OFF");
                assertThat(backends.getMethod("oneDnnBuild").invoke(backend)).hasToString("Optional.empty");
                // a 3 x 3 convolution of ones over ones: 9 at the centre
                Method conv2d = backends.getMethod("conv2d", String.class, float[].class, float[].class, int.class, int.class, int.class, int.class, int.class);
                Object conv = conv2d.invoke(backend, "conv", new float[] {1, 1, 1, 1, 1, 1, 1, 1, 1}, new float[] {0}, 1, 1, 3, 1, 1);
                float[] y = new float[9];
                loader.loadClass("io.github.magmajava.backend.Conv2d").getMethod("forward", float[].class, int.class, int.class, float[].class)
                        .invoke(conv, new float[] {1, 1, 1, 1, 1, 1, 1, 1, 1}, 3, 3, y);
                assertThat(y).containsExactly(4, 6, 4, 6, 9, 6, 4, 6, 4);
            }
        }
    }

    private static URL url(String entry) {
        try {
            return new File(entry).toURI().toURL();
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException(entry, e);
        }
    }
}
