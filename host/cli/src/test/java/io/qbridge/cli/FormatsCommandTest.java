package io.qbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qbridge.format.FormatNames;
import io.qbridge.format.MicroScopiQFormat;
import io.qbridge.format.QuantFormat;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.RecipeCatalog;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code qbridge formats}: lists every name, its formula agrees with the byte image, and unknown names get one short line. */
class FormatsCommandTest {
    @Test
    void jsonListsEveryFixedFormatAndItsFormulaMatchesThePackedSize() throws Exception {
        CliTest.Run r = CliTest.run("formats", "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode recipes = new ObjectMapper().readTree(r.out()).get("recipes");
        Set<String> names = new HashSet<>();
        for (JsonNode e : recipes) {
            String name = e.get("name").asText();
            names.add(name);
            assertFalse(e.get("description").asText().isBlank(), name);
            if (name.equals("fp32")) continue;
            QuantRecipe recipe = QuantRecipe.parse(name);
            QuantFormat f = recipe.isSimulated() ? (name.contains("w4") ? MicroScopiQFormat.W4 : MicroScopiQFormat.W2) : recipe.format();
            // the formula is written from the format's fields; packedBytes is the byte image the packer writes
            assertEquals(f.bitsPerWeight(RecipeCatalog.REF_N, RecipeCatalog.REF_K), e.get("bitsPerWeight").asDouble(), 1e-12, name);
            assertEquals(recipe.algorithm().name().toLowerCase(), e.get("algorithm").asText(), name);
            assertEquals(recipe.isSimulated(), e.get("devices").isEmpty(), name);
            // int8-token and mxint8 for all; lobcq for LO-BCQ weights, axbxp for 8-bit symmetric INT (the FxP8 baseline)
            boolean axbxp = f instanceof io.qbridge.format.IntGroupFormat g && g.bits() == 8 && g.symmetric();
            if (!recipe.isSimulated()) assertEquals(f instanceof io.qbridge.format.LoBcqFormat || axbxp ? 3 : 2, e.get("activations").size(), name);
            if (axbxp) assertEquals("axbxp", e.get("activations").get(2).asText(), name);
        }
        for (String fixed : FormatNames.FIXED) assertTrue(names.contains(fixed), fixed + " missing from qbridge formats");
        assertTrue(names.contains("gptq-w4g128") && names.contains("microscopiq-w4-official"), names.toString());
    }

    @Test
    void tableShowsFormulaAndDevices() {
        CliTest.Run r = CliTest.run("formats");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("bits/weight = 4 + 16/128"), r.out());
        assertTrue(r.out().contains("microscopiq-w4 "), r.out());
        assertTrue(r.out().contains("Devices: emulator"), r.out());
    }

    @Test
    void unknownFormatIsOneShortLineWithTheClosestNames() {
        CliTest.Run r = CliTest.run("estimate", "--formats", "microscopiq-w44");
        assertEquals(2, r.exit());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.contains("did you mean microscopiq-w4"), err);
        assertTrue(err.contains("'qbridge formats'"), err);
        assertTrue(err.length() < 160, err);
    }

    @Test
    void unknownRecipeSuggestsRecipeNames() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> QuantRecipe.parse("gtpq-w4g128@gptq"));
        assertTrue(e.getMessage().startsWith("unknown format or recipe 'gtpq-w4g128@gptq' (did you mean gptq-w4g128"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> QuantFormat.parse("mxfp5"));
        assertTrue(e.getMessage().matches("unknown format 'mxfp5' \\(did you mean mxfp[46].*\\?\\); 'qbridge formats' lists them"), e.getMessage());
        assertFalse(e.getMessage().contains("<"), "no grammar: " + e.getMessage());
    }
}
