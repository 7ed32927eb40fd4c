package io.qbridge.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EvalCorpusTest {
    @Test
    void corpusIsLargeEnoughAndSplitsAreDisjoint() {
        List<String> all = EvalCorpus.sentences();
        assertTrue(all.size() >= 2200, "only " + all.size() + " sentences");
        Set<String> seen = new HashSet<>();
        for (EvalCorpus.Split s : EvalCorpus.Split.values()) {
            List<String> part = EvalCorpus.split(s);
            assertEquals(s.count, part.size());
            for (String sentence : part) assertTrue(seen.add(sentence), "sentence in two splits: " + sentence);
        }
    }

    @Test
    void sentencesAreEnglish() {
        for (String s : EvalCorpus.split(EvalCorpus.Split.BENCH)) {
            assertTrue(Character.isUpperCase(s.codePointAt(0)) || Character.isDigit(s.codePointAt(0)), s);
            assertTrue(EvalCorpus.isEnglish(s + " " + String.join(" ", EvalCorpus.split(EvalCorpus.Split.BENCH))), s);
        }
        assertFalse(EvalCorpus.isEnglish("La direttiva in esame sulle pari opportunità tra uomo e donna nell accesso e nella fornitura di beni e servizi è in fase di elaborazione da lungo tempo"));
    }

    @Test
    void splitsAtSentenceEnds() {
        assertEquals(List.of("We agree.", "Is it so?", "Yes, Mr. smith said so."), EvalCorpus.splitSentences("We agree. Is it so? Yes, Mr. smith said so."));
    }
}
