package io.github.magmajava.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.magmajava.Magma;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The page at {@code GET /} in Debian's headless Chromium, driven by Selenium: pick an image, ask,
 * watch the answer stream in, ask a follow-up; both answers equal the API's for the same
 * requests. Skipped, loudly, where Chromium is not installed ({@code tools/test} installs it).
 */
@Timeout(180)
class PageBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static Magma magma;
    private static MagmaServer server;
    private static WebDriver browser;
    /** Answers short enough that a follow-up still fits the tiny model's 40 text positions. */
    private static final int MAX_TOKENS = 8;

    @BeforeAll
    static void start() throws Exception {
        boolean installed = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        if (!installed) {
            System.err.println("SKIPPED PageBrowserTest: " + CHROMIUM + " or " + CHROMEDRIVER + " is missing"
                    + " (tools/test installs Debian's chromium and chromium-driver)");
        }
        assumeTrue(installed, "chromium and chromedriver are not installed");
        magma = ServeApiTest.tiny("tiny_a").threads(2).load();
        server = MagmaServer.start(ServeOptions.defaults().withPort(0), () -> magma);
        server.awaitModel();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--user-data-dir=" + Files.createTempDirectory("magma-chromium"));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
        browser.manage().window().setSize(new Dimension(1280, 900));
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.quit();
        }
        if (server != null) {
            server.close();
        }
    }

    /** The API's answer to the request the page makes for {@code messages}: the page's default settings. */
    private static String apiAnswer(String messagesJson) throws Exception {
        String body = "{\"max_tokens\": " + MAX_TOKENS + ", \"temperature\": 0.7, \"top_p\": 0.9, \"messages\": " + messagesJson + "}";
        JsonNode answer = ServeApiTest.JSON.readTree(ServeApiTest.post(server, body).body());
        return answer.at("/choices/0/message/content").asText();
    }

    private static WebElement waitForAnswer(WebDriverWait wait, int turn) {
        return wait.until(d -> {
            List<WebElement> done = d.findElements(By.cssSelector("#answer[data-done='true']"));
            List<WebElement> turns = d.findElements(By.cssSelector("#conversation > *"));
            return !done.isEmpty() && turns.size() >= turn ? done.getFirst() : null;
        });
    }

    @Test
    void theStreamedAnswersOnThePageEqualTheApisAndFollowUpsWork() throws Exception {
        Path png = ServeApiTest.FIXTURES.resolve("image/src/rgb_97x61.png");
        String dataUrl = ServeApiTest.dataUrl(Files.readAllBytes(png));
        browser.get("http://127.0.0.1:" + server.port() + "/");
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60));
        wait.until(d -> d.findElement(By.id("model")).getText().contains("tiny_a"));
        assertThat(browser.findElement(By.id("ask")).isEnabled()).as("Ask waits for an image").isFalse();
        ((JavascriptExecutor) browser).executeScript("const e = document.getElementById('max-tokens'); e.value = arguments[0];"
                + " e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}));",
                MAX_TOKENS);

        browser.findElement(By.id("image-input")).sendKeys(png.toAbsolutePath().toString());
        wait.until(d -> d.findElement(By.id("preview")).getAttribute("src").startsWith("data:image/png"));
        WebElement question = browser.findElement(By.id("question"));
        question.sendKeys("What is in the picture?");
        question.sendKeys(Keys.ENTER); // Enter asks
        String first = waitForAnswer(wait, 1).getText();
        String expectedFirst = apiAnswer("[{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \""
                + dataUrl + "\"}}, {\"type\": \"text\", \"text\": \"Q: What is in the picture? A:\"}]}]");
        assertThat(first).isNotBlank().isEqualTo(expectedFirst.strip());
        assertThat(browser.findElement(By.id("status")).getText()).contains("done");

        question.sendKeys("And the colours?");
        browser.findElement(By.id("ask")).click();
        String second = waitForAnswer(wait, 2).getText();
        String expectedSecond = apiAnswer("[{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \""
                + dataUrl + "\"}}, {\"type\": \"text\", \"text\": \"Q: What is in the picture? A:\"}]},"
                + " {\"role\": \"assistant\", \"content\": " + ServeApiTest.JSON.writeValueAsString(expectedFirst) + "},"
                + " {\"role\": \"user\", \"content\": \"Q: And the colours? A:\"}]");
        assertThat(second).isNotBlank().isEqualTo(expectedSecond.strip());
        assertThat(browser.findElement(By.id("status")).getText()).contains("done");
        assertThat(browser.findElements(By.cssSelector("#conversation > *"))).hasSizeGreaterThanOrEqualTo(2);
        assertThat(browser.findElement(By.id("error")).isDisplayed()).as(browser.findElement(By.id("error")).getText()).isFalse();
        // The follow-up reused the image's prefix (one miss, then hits).
        assertThat(ServeApiTest.get(server, "/metrics").body()).contains("magma_image_prefix_cache_total{result=\"hit\"}");

        File shot = ((ChromeDriver) browser).getScreenshotAs(OutputType.FILE);
        Path target = Path.of("target", "serve-page.png");
        Files.copy(shot.toPath(), target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        // Phone width: one column, nothing wider than the window.
        browser.manage().window().setSize(new Dimension(375, 800));
        long overflow = (Long) ((JavascriptExecutor) browser).executeScript(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;");
        assertThat(overflow).isLessThanOrEqualTo(0);
        File phone = ((ChromeDriver) browser).getScreenshotAs(OutputType.FILE);
        Files.copy(phone.toPath(), Path.of("target", "serve-page-phone.png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
