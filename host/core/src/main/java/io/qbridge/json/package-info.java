/**
 * JSON documents read into Jackson's tree model ({@link com.fasterxml.jackson.databind.JsonNode}) by jackson-core's
 * streaming parser alone ({@link io.qbridge.json.JsonTrees}): the files the commands read at start (a .qbz manifest,
 * a tokenizer.json, a Hugging Face checkpoint's config.json and safetensors headers, the bitstream manifest) then
 * never construct databind's {@code ObjectMapper}, whose first construction alone took about 0.2 s of a fresh
 * process's single thread.
 */
package io.qbridge.json;
