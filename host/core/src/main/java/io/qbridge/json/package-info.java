/**
 * JSON documents read into Jackson's tree model ({@link com.fasterxml.jackson.databind.JsonNode}) by jackson-core's
 * streaming parser alone ({@link io.qbridge.json.JsonTrees}): the files every command reads at start (a .qbz manifest,
 * a tokenizer.json) then never construct databind's {@code ObjectMapper}, whose first construction alone took about
 * 0.2 s of a fresh process's single thread.
 */
package io.qbridge.json;
