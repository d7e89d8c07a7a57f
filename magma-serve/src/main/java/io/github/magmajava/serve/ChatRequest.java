package io.github.magmajava.serve;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.magmajava.Conversation;
import io.github.magmajava.sampling.SamplingOptions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * A {@code POST /v1/chat/completions} body, checked: the prompt MAGMA reads, its one image, the
 * sampling options and stop strings, and how to answer. Unknown fields are tolerated; a wrong one
 * is an {@link ApiError} naming it ({@code messages[2].content[0].image_url.url}).
 *
 * <p>The messages become one prompt as a {@link Conversation} (the way {@code magma chat
 * --conversation} builds it): system messages first, each followed by a newline, then each earlier
 * question followed by its answer and a newline, then the last question. MAGMA is not a chat
 * model: a prompt of the form {@code "Q: ... A:"} answers best.
 *
 * @param image the image's bytes (from a data: URL), or null when {@code imageUrl} is remote
 */
record ChatRequest(String prompt, byte[] image, String imageUrl, String imageParam, SamplingOptions options, List<String> stop,
        boolean stream, boolean includeUsage) {
    /** OpenAI's limit on stop strings. */
    static final int MAX_STOP = 4;
    static final float MAX_TEMPERATURE = 2;

    /**
     * @param modelId      the model this server serves: {@code model} may name it or be absent
     * @param maxNewTokens the largest {@code max_tokens} (the config's text budget)
     */
    static ChatRequest parse(JsonNode body, String modelId, int maxNewTokens, SamplingOptions defaults, ServeOptions limits) {
        if (body == null || !body.isObject()) {
            throw ApiError.invalid(null, "the request body must be a JSON object");
        }
        JsonNode model = body.get("model");
        if (model != null && !model.isNull() && !(model.isTextual() && model.asText().equals(modelId))) {
            throw new ApiError(404, "invalid_request_error", "model", "model_not_found", "model " + model
                    + " is not served here; this server serves \"" + modelId + "\" (GET /v1/models)", 0);
        }
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && !(n.canConvertToInt() && n.isIntegralNumber() && n.asInt() == 1)) {
            throw ApiError.invalid("n", "n must be 1: one answer per request, found " + n);
        }
        SamplingOptions options = defaults;
        JsonNode maxTokens = body.hasNonNull("max_completion_tokens") ? body.get("max_completion_tokens") : body.get("max_tokens");
        String maxTokensName = body.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        if (maxTokens != null && !maxTokens.isNull()) {
            options = options.withMaxNewTokens((int) integer(maxTokens, maxTokensName, 1, maxNewTokens));
        }
        if (body.hasNonNull("temperature")) {
            options = options.withTemperature((float) number(body.get("temperature"), "temperature", 0, MAX_TEMPERATURE, true));
        }
        if (body.hasNonNull("top_p")) {
            options = options.withTopP((float) number(body.get("top_p"), "top_p", 0, 1, false));
        }
        if (body.hasNonNull("top_k")) {
            options = options.withTopK((int) integer(body.get("top_k"), "top_k", 0, Integer.MAX_VALUE));
        }
        if (body.hasNonNull("seed")) {
            options = options.withSeed(integer(body.get("seed"), "seed", Long.MIN_VALUE, Long.MAX_VALUE));
        }
        List<String> stop = stop(body.get("stop"));
        boolean stream = bool(body.get("stream"), "stream");
        JsonNode streamOptions = body.get("stream_options");
        boolean includeUsage = streamOptions != null && streamOptions.isObject()
                && bool(streamOptions.get("include_usage"), "stream_options.include_usage");

        Messages m = messages(body.get("messages"), limits);
        return new ChatRequest(m.prompt, m.image, m.imageUrl, m.imageParam, options, stop, stream, includeUsage);
    }

    /** The prompt and the one image found. */
    private static final class Messages {
        String prompt;
        byte[] image;
        String imageUrl;
        String imageParam;
    }

    private static Messages messages(JsonNode messages, ServeOptions limits) {
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiError.invalid("messages", "messages must be a non-empty array");
        }
        Messages m = new Messages();
        Conversation conversation = new Conversation();
        StringBuilder question = new StringBuilder();
        for (int i = 0; i < messages.size(); i++) {
            String at = "messages[" + i + "]";
            JsonNode message = messages.get(i);
            if (!message.isObject()) {
                throw ApiError.invalid(at, at + " must be an object");
            }
            JsonNode roleNode = message.get("role");
            if (roleNode == null || !roleNode.isTextual()) {
                throw ApiError.invalid(at + ".role", at + ".role must be \"system\", \"user\" or \"assistant\"");
            }
            String role = roleNode.asText().toLowerCase(Locale.ROOT);
            String text = content(message.get("content"), at + ".content", role.equals("user"), m, limits);
            switch (role) {
                case "system", "developer" -> conversation.system(text);
                case "user" -> question.append(text);
                case "assistant" -> {
                    conversation.add(question.toString(), text);
                    question.setLength(0);
                }
                default -> throw ApiError.invalid(at + ".role", at + ".role \"" + roleNode.asText()
                        + "\" is not one MAGMA reads: use \"system\", \"user\" or \"assistant\"");
            }
            if (i == messages.size() - 1 && !role.equals("user")) {
                throw ApiError.invalid(at + ".role", "the last message must be the user's question, " + at + ".role is \"" + role + "\"");
            }
        }
        if (m.image == null && m.imageUrl == null) {
            throw ApiError.invalid("messages", "messages hold no image; MAGMA answers about one: give a user message an image_url part"
                    + " ({\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/png;base64,...\"}})");
        }
        m.prompt = conversation.prompt(question.toString());
        return m;
    }

    /** A message's text: a string, or text parts joined (user messages may also hold the image). */
    private static String content(JsonNode content, String at, boolean user, Messages m, ServeOptions limits) {
        if (content == null || content.isNull()) {
            throw ApiError.invalid(at, at + " is missing");
        }
        if (content.isTextual()) {
            return content.asText();
        }
        if (!content.isArray()) {
            throw ApiError.invalid(at, at + " must be a string or an array of parts");
        }
        StringBuilder text = new StringBuilder();
        for (int j = 0; j < content.size(); j++) {
            String partAt = at + "[" + j + "]";
            JsonNode part = content.get(j);
            String type = part.path("type").asText("");
            switch (type) {
                case "text" -> {
                    JsonNode t = part.get("text");
                    if (t == null || !t.isTextual()) {
                        throw ApiError.invalid(partAt + ".text", partAt + ".text must be a string");
                    }
                    text.append(t.asText());
                }
                case "image_url" -> {
                    if (!user) {
                        throw ApiError.invalid(partAt, "only user messages may hold an image, " + partAt + " does not belong to one");
                    }
                    JsonNode url = part.path("image_url").get("url");
                    if (url == null && part.path("image_url").isTextual()) {
                        url = part.get("image_url");
                    }
                    String urlAt = partAt + ".image_url.url";
                    if (url == null || !url.isTextual()) {
                        throw ApiError.invalid(urlAt, urlAt + " must be a string: a data: URL"
                                + (limits.allowRemoteImages() ? " or an http(s) URL" : ""));
                    }
                    if (m.image != null || m.imageUrl != null) {
                        throw ApiError.invalid(partAt, "one image per request (MAGMA reads one image prefix); " + m.imageParam
                                + " is one, " + urlAt + " another");
                    }
                    image(url.asText(), urlAt, m, limits);
                }
                default -> throw ApiError.invalid(partAt + ".type", partAt + ".type must be \"text\" or \"image_url\", found \""
                        + type + "\"");
            }
        }
        return text.toString();
    }

    private static void image(String url, String at, Messages m, ServeOptions limits) {
        m.imageParam = at;
        String lower = url.substring(0, Math.min(url.length(), 16)).toLowerCase(Locale.ROOT);
        if (lower.startsWith("http://") || lower.startsWith("https://")) {
            if (!limits.allowRemoteImages()) {
                throw ApiError.invalid(at, at + " is a remote URL; this server reads images from data: URLs only"
                        + " (start it with --allow-remote-images to fetch http(s) URLs)");
            }
            m.imageUrl = url;
            return;
        }
        if (!lower.startsWith("data:")) {
            throw ApiError.invalid(at, at + " must be a data: URL (data:image/png;base64,...)");
        }
        int comma = url.indexOf(',');
        if (comma < 0 || !url.substring(0, comma).toLowerCase(Locale.ROOT).endsWith(";base64")) {
            throw ApiError.invalid(at, at + " must be a base64 data: URL (data:image/...;base64,...)");
        }
        long encoded = url.length() - comma - 1L;
        if (encoded / 4 * 3 > limits.maxImageBytes() + 2) {
            throw new ApiError(413, "invalid_request_error", at, "image_too_large", at + " holds about " + encoded / 4 * 3
                    + " bytes of image, more than this server's limit of " + limits.maxImageBytes(), 0);
        }
        try {
            // Strict base64 (the MIME decoder skips what it does not know); line breaks tolerated.
            m.image = Base64.getDecoder().decode(url.substring(comma + 1).replaceAll("[\\r\\n ]", ""));
        } catch (IllegalArgumentException e) {
            throw ApiError.invalid(at, "invalid_base64", at + " is not valid base64: " + e.getMessage());
        }
        if (m.image.length == 0) {
            throw ApiError.invalid(at, at + " holds no bytes");
        }
        if (m.image.length > limits.maxImageBytes()) {
            throw new ApiError(413, "invalid_request_error", at, "image_too_large", at + " holds " + m.image.length
                    + " bytes of image, more than this server's limit of " + limits.maxImageBytes(), 0);
        }
    }

    private static List<String> stop(JsonNode stop) {
        if (stop == null || stop.isNull()) {
            return List.of();
        }
        List<String> strings = new ArrayList<>();
        if (stop.isTextual()) {
            strings.add(stop.asText());
        } else if (stop.isArray()) {
            for (int i = 0; i < stop.size(); i++) {
                if (!stop.get(i).isTextual()) {
                    throw ApiError.invalid("stop", "stop[" + i + "] must be a string");
                }
                strings.add(stop.get(i).asText());
            }
        } else {
            throw ApiError.invalid("stop", "stop must be a string or an array of strings");
        }
        if (strings.size() > MAX_STOP) {
            throw ApiError.invalid("stop", "stop takes at most " + MAX_STOP + " strings, found " + strings.size());
        }
        for (int i = 0; i < strings.size(); i++) {
            if (strings.get(i).isEmpty()) {
                throw ApiError.invalid("stop", "stop strings must not be empty (stop[" + i + "])");
            }
        }
        return List.copyOf(strings);
    }

    private static long integer(JsonNode node, String name, long min, long max) {
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
            throw ApiError.invalid(name, name + " must be an integer, found " + node);
        }
        long v = node.asLong();
        if (v < min || v > max) {
            throw ApiError.invalid(name, name + " must be from " + min + " to " + max + ", found " + v);
        }
        return v;
    }

    private static double number(JsonNode node, String name, double min, double max, boolean minIncluded) {
        if (!node.isNumber()) {
            throw ApiError.invalid(name, name + " must be a number, found " + node);
        }
        double v = node.asDouble();
        if (!(minIncluded ? v >= min : v > min) || !(v <= max)) {
            throw ApiError.invalid(name, name + " must be in " + (minIncluded ? "[" : "(") + min + ", " + max + "], found " + v);
        }
        return v;
    }

    private static boolean bool(JsonNode node, String name) {
        if (node == null || node.isNull()) {
            return false;
        }
        if (!node.isBoolean()) {
            throw ApiError.invalid(name, name + " must be true or false, found " + node);
        }
        return node.asBoolean();
    }
}
