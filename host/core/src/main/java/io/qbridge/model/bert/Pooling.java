package io.qbridge.model.bert;

/**
 * How a sentence vector is made from the encoder's last hidden states. Each published model fixes this
 * in its sentence-transformers configuration: bge-small-en-v1.5 uses the [CLS] vector, all-MiniLM-L6-v2
 * the mean over tokens; both then L2-normalise.
 */
public enum Pooling {
    CLS,
    MEAN
}
