/**
 * The benchmark peer for whole-process encoder timings (tests/encoder-bench.sh): a command-line program that
 * embeds a text file with langchain4j's in-process all-MiniLM-L6-v2 on ONNX Runtime, as a langchain4j user would.
 * It is not part of Qbridge and shares no code with it.
 */
package io.qbridge.peer;
