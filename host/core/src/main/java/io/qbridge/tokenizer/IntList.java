package io.qbridge.tokenizer;

import java.util.Arrays;

/** A growable int array: encoding allocates no boxed integers. */
final class IntList {
    int[] values;
    int size;

    IntList(int capacity) {
        values = new int[Math.max(capacity, 4)];
    }

    void add(int v) {
        if (size == values.length) values = Arrays.copyOf(values, size * 2);
        values[size++] = v;
    }
}
