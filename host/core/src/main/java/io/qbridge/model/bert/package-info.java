/**
 * The BERT-style sentence encoder (bge-small-en-v1.5, all-MiniLM-L6-v2): configuration, weights mapped
 * from the ONNX graph, the FP32 forward pass and the pooling each model was trained with.
 */
package io.qbridge.model.bert;
