/**
 * Reads ONNX model files with the project's own minimal schema ({@code protocol/src/main/proto/onnx}):
 * initializers as float arrays, constants, and the node graph just far enough to map weights to layers.
 * No ONNX runtime is involved; the graph is not executed.
 */
package io.qbridge.model.onnx;
