package io.qbridge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.qbridge.protocol.v1.BenchSpec;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.ModelRef;
import io.qbridge.protocol.v1.QuantizeSpec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A quantize or bench job naming a simulated (official MicroScopiQ) recipe is refused as INVALID_ARGUMENT with the reason. */
class OfficialRecipeSpecTest {
    @Test
    void quantizeAndBenchJobsRefuseSimulatedRecipes(@TempDir Path dir) throws Exception {
        SpecValidator v = new SpecValidator(new ArtifactStore(dir), List.of(TestServers.HOST), false);
        ModelRef minilm = ModelRef.newBuilder().setBuiltin("minilm").build();
        JobSpec quantize = JobSpec.newBuilder().setQuantize(QuantizeSpec.newBuilder().setModel(minilm).setFormat("microscopiq-w4-official")).build();
        JobSpec bench = JobSpec.newBuilder().setBench(BenchSpec.newBuilder().setModel(minilm).setFormat("microscopiq-w2-official@rtn").setDevice("emulator")).build();
        for (JobSpec spec : List.of(quantize, bench)) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> v.validate(spec));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("is a simulated (fake-quant) recipe with no packed byte layout"), e.getStatus().getDescription());
        }
    }
}
