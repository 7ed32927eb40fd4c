package io.qbridge.cli;

import io.qbridge.client.*;

import io.qbridge.data.EvalCorpus;
import io.qbridge.device.ActivationMode;
import io.qbridge.protocol.v1.BenchResult;
import io.qbridge.protocol.v1.BenchSpec;
import io.qbridge.protocol.v1.EvalResult;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.ModelRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code qbridge submit --server H:P quantize|run|bench|eval|generate …}: a job on a remote server, followed to the end unless {@code --detach}. */
@Command(name = "submit", mixinStandardHelpOptions = true, description = "Submit a job to a qbridge job server.",
        subcommands = {SubmitCommand.Quantize.class, SubmitCommand.Run.class, SubmitCommand.Bench.class, SubmitCommand.Eval.class, SubmitCommand.Generate.class})
public final class SubmitCommand implements Callable<Integer> {
    @Mixin RemoteOptions remote;

    @Override
    public Integer call() {
        throw new Main.UserException("submit: name a job kind: quantize, run, bench, eval or generate (qbridge submit --help)");
    }

    /** What every job kind shares: how to follow it and its priority. */
    static final class Follow {
        @Option(names = "--wait", description = "Follow the job to its end and print its result (the default).")
        boolean waitFlag;

        @Option(names = "--detach", description = "Print the job id and return at once.")
        boolean detach;

        @Option(names = "--priority", defaultValue = "0", paramLabel = "0-9", description = "Higher runs first (default 0).")
        int priority;

        @Option(names = "--timeout", defaultValue = "0", paramLabel = "SECONDS", description = "Fail the job if it runs longer than this once started (default: no limit).")
        long timeoutSeconds;
    }

    /** Submits, then either prints the id (detached) or follows the job and returns it final. */
    static Job submitAndFollow(RemoteOptions remote, QbridgeClient c, JobSpec spec, Follow f) throws Exception {
        if (f.waitFlag && f.detach) throw new Main.UserException("--wait and --detach exclude each other");
        if (f.timeoutSeconds < 0) throw new Main.UserException("--timeout must not be negative");
        Job j = remote.call(() -> c.submitWithTimeout(spec, f.priority, f.timeoutSeconds * 1000));
        if (f.detach) {
            System.out.println(j.getId());
            return null;
        }
        System.err.printf("submitted job %s%n", j.getId());
        JobPrinter printer = new JobPrinter();
        Job done = remote.call(() -> c.await(j.getId(), e -> printer.event(System.err, e)));
        if (done.getState() != JobState.JOB_STATE_SUCCEEDED) {
            throw new Main.UserException("job " + done.getId() + " " + JobPrinter.state(done.getState()) + (done.getError().isEmpty() ? "" : ": " + done.getError()));
        }
        return done;
    }

    @Command(name = "quantize", mixinStandardHelpOptions = true, description = "Quantize an encoder on the server into a .qbz artifact.")
    static final class Quantize implements Callable<Integer> {
        @ParentCommand SubmitCommand parent;
        @Mixin Follow follow;

        @Option(names = {"-m", "--model"}, defaultValue = "bge-small", paramLabel = "MODEL",
                description = "bge-small (default), minilm, or a local BERT .onnx FILE, uploaded first (resumable); its .qbz then needs that file as --base to run locally.")
        String model;

        @Option(names = "--tokenizer-of", paramLabel = "MODEL",
                description = "With --model FILE.onnx: the built-in (bge-small, minilm) whose tokenizer and pooling the uploaded model uses.")
        String tokenizerOf;

        @Option(names = {"-f", "--format"}, required = true, paramLabel = "FORMAT", description = "A recipe as 'qbridge quantize --format' takes it.")
        String format;

        @Option(names = "--calibration", defaultValue = "0", paramLabel = "N", description = "Calibration sentences for GPTQ-based recipes (default: the server's, 128).")
        int calibration;

        @Option(names = "--out", paramLabel = "DIR", description = "With --wait: download the .qbz into this directory.")
        Path out;

        @Override
        public Integer call() throws Exception {
            if (out != null && !Files.isDirectory(out)) throw new Main.UserException(out + ": no such directory");
            boolean builtin = io.qbridge.model.bert.EncoderModel.Builtin.byAlias(model) != null;
            if (!builtin && !model.toLowerCase(java.util.Locale.ROOT).endsWith(".onnx")) {
                throw new Main.UserException("--model " + model + ": quantize takes a built-in model (bge-small, minilm) or a BERT .onnx file");
            }
            if (builtin && tokenizerOf != null) throw new Main.UserException("--tokenizer-of: only with --model FILE.onnx");
            if (!builtin && tokenizerOf == null) throw new Main.UserException("--model " + model + ": an .onnx needs --tokenizer-of bge-small|minilm (its tokenizer and pooling)");
            try (QbridgeClient c = parent.remote.connect()) {
                JobSpec spec = QbridgeClient.quantizeSpec(model, format, calibration);
                if (!builtin) {
                    Path file = Path.of(model);
                    if (!Files.isRegularFile(file)) throw new Main.UserException("--model " + model + ": no such file");
                    ModelRef ref = upload(parent.remote, c, file, tokenizerOf);
                    spec = spec.toBuilder().setQuantize(spec.getQuantize().toBuilder().setModel(ref)).build();
                }
                Job done = submitAndFollow(parent.remote, c, spec, follow);
                if (done == null) return 0;
                JobPrinter.details(System.out, done);
                if (out != null) System.out.println("wrote " + parent.remote.call(() -> c.download(done.getId(), out)));
            }
            return 0;
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true, description = "Embed each non-empty line of a text file on the server.")
    static final class Run implements Callable<Integer> {
        @ParentCommand SubmitCommand parent;
        @Mixin Follow follow;

        @Option(names = {"-m", "--model"}, defaultValue = "bge-small", paramLabel = "MODEL",
                description = "bge-small (default), minilm, sha256:HEX naming a .qbz artifact of an earlier quantize job on that server, "
                        + "or a local .qbz or BERT .onnx FILE, uploaded first (resumable).")
        String model;

        @Option(names = "--base", paramLabel = "FILE.onnx",
                description = "With a .qbz quantized from an .onnx file: upload that base first (the server finds a container's base among its uploads by sha256).")
        Path base;

        @Option(names = "--tokenizer-of", paramLabel = "MODEL",
                description = "With --model FILE.onnx: the built-in (bge-small, minilm) whose tokenizer and pooling the uploaded model uses.")
        String tokenizerOf;

        @Option(names = {"-f", "--format"}, defaultValue = "", paramLabel = "FORMAT", description = "Quantize a built-in model first with this RTN recipe (default: none).")
        String format;

        @Option(names = "--device", defaultValue = "", paramLabel = "ID",
                description = "A device id from the server (default: any), or emulator|xrt|auto: every linear layer on the server's accelerator, as 'qbridge run' (a built-in model is then quantized with --format, default microscopiq-w4@rtn).")
        String device;

        @Option(names = "--allow-fallback", description = "With emulator|xrt|auto: if the device fails during the job, run it on the server's emulator instead of failing.")
        boolean allowFallback;

        @picocli.CommandLine.Mixin ActivationOptions activations;

        @Option(names = "--text", required = true, paramLabel = "FILE", description = "UTF-8 text, one sentence a line.")
        Path text;

        @Option(names = "--json", description = "Print {\"model\":…, \"dim\":…, \"embeddings\":[[…],…]} on stdout, as 'qbridge embed --json' does.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            List<String> lines = EvalCorpus.readLines(text);
            Path file = modelFile();
            if (tokenizerOf != null && (file == null || !model.toLowerCase(java.util.Locale.ROOT).endsWith(".onnx"))) {
                throw new Main.UserException("--tokenizer-of: only with --model FILE.onnx");
            }
            if (base != null && !model.endsWith(".qbz") && !model.startsWith("sha256:")) throw new Main.UserException("--base: only with a .qbz --model or sha256:HEX");
            if (base != null && !Files.isRegularFile(base)) throw new Main.UserException("--base " + base + ": no such file");
            if (file != null && model.toLowerCase(java.util.Locale.ROOT).endsWith(".onnx") && tokenizerOf == null) {
                throw new Main.UserException("--model " + file + ": an .onnx needs --tokenizer-of bge-small|minilm (its tokenizer and pooling)");
            }
            try (QbridgeClient c = parent.remote.connect()) {
                if (base != null) upload(parent.remote, c, base, null);
                ModelRef ref = file != null ? upload(parent.remote, c, file, tokenizerOf) : modelRef(model);
                var run = QbridgeClient.runSpec(ref, format, lines).getRun().toBuilder().setDevice(device);
                if (allowFallback) run.setAllowFallback(true);
                if (activations.mode() != ActivationMode.INT8_PER_TOKEN) run.setActivations(activations.mode().id());
                JobSpec spec = JobSpec.newBuilder().setRun(run).build();
                Job done = submitAndFollow(parent.remote, c, spec, follow);
                if (done == null) return 0;
                float[][] emb = QbridgeClient.embeddings(done);
                if (json) {
                    EmbedCommand.writeJson(done.getResult().getRun().getModel(), emb);
                } else {
                    System.out.printf("%d sentences, %d dimensions, model %s%n", emb.length, done.getResult().getRun().getDim(), done.getResult().getRun().getModel());
                }
            }
            return 0;
        }

        private Path modelFile() {
            return localModel(model);
        }
    }

    /** The local file a --model value names, or null for a built-in alias or sha256:HEX; a name that is none of these is a one-line error. */
    static Path localModel(String model) {
        if (model.startsWith("sha256:") || io.qbridge.model.bert.EncoderModel.Builtin.byAlias(model) != null) return null;
        Path p = Path.of(model);
        if (!Files.isRegularFile(p)) throw new Main.UserException("--model " + model + ": not a built-in model (bge-small, minilm), not sha256:HEX, and no such file");
        return p;
    }

    /**
     * Uploads the file (resuming an earlier attempt at the same file) with a progress bar; the ref names the
     * upload, with {@code tokenizerOf} for an .onnx (null: none; a run or quantize job naming an .onnx needs it).
     */
    static ModelRef upload(RemoteOptions remote, QbridgeClient c, Path file, String tokenizerOf) throws Exception {
        boolean onnx = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".onnx");
        long size = Files.size(file);
        QbridgeClient.Upload u;
        try (Progress bar = Progress.start("upload " + file.getFileName(), size)) {
            long[] last = {-1};
            u = remote.call(() -> c.uploadModel(file, null, n -> {
                if (last[0] < 0) last[0] = n; // the resume point: progress counts from there
                bar.step(n - last[0]);
                last[0] = n;
            }));
        }
        System.err.printf("uploaded %s: %d bytes, sha256 %s%s%n", file.getFileName(), u.size(), u.sha256(),
                u.resumedAt() > 0 ? " (resumed at byte " + u.resumedAt() + ")" : "");
        ModelRef.Builder r = ModelRef.newBuilder().setUploadSha256(u.sha256());
        if (onnx && tokenizerOf != null) r.setTokenizerOf(tokenizerOf);
        return r.build();
    }

    /** A model option's value as the server takes it: a built-in alias, or {@code sha256:HEX} for an artifact of an earlier job. */
    static ModelRef modelRef(String model) {
        return model.startsWith("sha256:") ? ModelRef.newBuilder().setArtifactSha256(model.substring(7)).build()
                : ModelRef.newBuilder().setBuiltin(model).build();
    }

    @Command(name = "bench", mixinStandardHelpOptions = true,
            description = "Latency percentiles of a quantized encoder on the server's device, as 'qbridge bench' measures them there.")
    static final class Bench implements Callable<Integer> {
        @ParentCommand SubmitCommand parent;
        @Mixin Follow follow;

        @Option(names = {"-m", "--model"}, defaultValue = "bge-small", paramLabel = "MODEL",
                description = "bge-small (default), minilm (quantized on the server with --format), sha256:HEX naming a .qbz artifact on that server, "
                        + "or a local FILE.qbz, uploaded first (resumable; with --activations axbxp it carries each layer's Ax-BxP configuration).")
        String model;

        @Option(names = {"-f", "--format"}, defaultValue = "", paramLabel = "FORMAT", description = "Format for a built-in model (default microscopiq-w4@rtn).")
        String format;

        @Option(names = "--device", defaultValue = "auto", paramLabel = "emulator|xrt|auto", description = "The server's device (default " + DeviceOption.AUTO_RULE + ", on the server).")
        String device;

        @Option(names = "--preset", defaultValue = "u55c", paramLabel = "u55c|u250", description = "Card the performance model describes (default u55c).")
        String preset;

        @Mixin BenchOptions bench;

        @Option(names = "--allow-fallback", description = "If the device fails during the job, run the bench on the server's emulator instead of failing.")
        boolean allowFallback;

        @Mixin ActivationOptions activations;

        @Override
        public Integer call() throws Exception {
            bench.validate();
            Path chartDir = bench.chartDirectory();
            Path file = localModel(model);
            if (file != null && !file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".qbz"))
                throw new Main.UserException("--model " + file + ": submit bench uploads a .qbz (quantize an .onnx with 'qbridge quantize' first)");
            BenchSpec.Builder b = BenchSpec.newBuilder().setFormat(format).setDevice(device.equals("auto") ? "" : device)
                    .setRepeats(bench.runs).setWarmup(bench.warmup).setPreset(preset).setCompareFp32(bench.compareFp32).setAllowFallback(allowFallback);
            if (activations.mode() != ActivationMode.INT8_PER_TOKEN) b.setActivations(activations.mode().id());
            try (QbridgeClient c = parent.remote.connect()) {
                b.setModel(file != null ? upload(parent.remote, c, file, null) : modelRef(model));
                Job done = submitAndFollow(parent.remote, c, JobSpec.newBuilder().setBench(b).build(), follow);
                if (done == null) return 0;
                BenchResult r = done.getResult().getBench();
                if (bench.json) {
                    System.out.write(parent.remote.call(() -> c.artifactBytes(done.getId(), r.getJson().getSha256())));
                    System.out.flush();
                } else {
                    JobPrinter.bench(System.out, r);
                }
                if (bench.chart != null) {
                    Path got = parent.remote.call(() -> c.download(done.getId(), r.getChart().getSha256(), chartDir));
                    Files.move(got, bench.chart.toAbsolutePath(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                    Log.info("wrote %s", bench.chart);
                }
            }
            return 0;
        }
    }

    @Command(name = "eval", mixinStandardHelpOptions = true,
            description = "The quality table of 'qbridge eval' for a built-in encoder, or the perplexity of a decoder .qbz on --text, computed on the server.")
    static final class Eval implements Callable<Integer> {
        @ParentCommand SubmitCommand parent;
        @Mixin Follow follow;

        @Option(names = {"-m", "--model"}, defaultValue = "bge-small", paramLabel = "MODEL",
                description = "bge-small (default), minilm, or a local decoder .qbz FILE from 'qbridge quantize', uploaded first (resumable; perplexity on --text).")
        String model;

        @Mixin EvalOptions opts;

        @Option(names = "--text", paramLabel = "FILE", description = "With a decoder .qbz: the text whose perplexity is measured (its non-empty lines are sent).")
        Path text;

        @Option(names = "--window", defaultValue = "256", paramLabel = "N", description = "With a decoder .qbz: positions per perplexity window (default 256, at most the model's).")
        int window;

        @Option(names = "--json", description = "Print the JSON document 'qbridge eval --json' prints.")
        boolean json;

        @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            if (io.qbridge.model.bert.EncoderModel.Builtin.byAlias(model) == null) return decoder();
            if (text != null) throw new Main.UserException("--text: only with a decoder .qbz --model (an encoder's eval uses the project's sentences)");
            try (QbridgeClient c = parent.remote.connect()) {
                Job done = submitAndFollow(parent.remote, c, QbridgeClient.evalSpec(model, opts.formats, opts.heldOut, opts.retrieval), follow);
                if (done == null) return 0;
                EvalResult r = done.getResult().getEval();
                if (json) {
                    System.out.write(parent.remote.call(() -> c.artifactBytes(done.getId(), r.getJson().getSha256())));
                    System.out.flush();
                } else {
                    EvalCommand.print(r.getModel(), JobPrinter.evalRows(r), opts.markdown);
                }
            }
            return 0;
        }

        /** A decoder .qbz: uploaded, then its perplexity on --text, printed as the local {@code eval --model x.qbz} prints it. */
        private int decoder() throws Exception {
            Path file = Path.of(model);
            if (!Files.isRegularFile(file) || !QbzInfo.isContainer(file)) {
                throw new Main.UserException("--model " + model + ": not a built-in encoder (bge-small, minilm) and not a decoder .qbz file");
            }
            if (text == null) throw new Main.UserException("eval of a decoder .qbz needs --text FILE");
            if (json || spec.commandLine().getParseResult().hasMatchedOption("--formats")) {
                throw new Main.UserException((json ? "--json" : "--formats") + ": " + model + " is a .qbz with its own tokenizer and layers; give only --text");
            }
            if (window < 2) throw new Main.UserException("--window must be at least 2");
            String measured = String.join("\n", EvalCorpus.readLines(text)); // what the local command measures
            try (QbridgeClient c = parent.remote.connect()) {
                ModelRef ref = upload(parent.remote, c, file, null);
                Job done = submitAndFollow(parent.remote, c, QbridgeClient.decoderEvalSpec(ref, measured, window), follow);
                if (done == null) return 0;
                var r = done.getResult().getDecoderEval();
                EvalCommand.printContainer(model, r.getModel(), r.getLayers(), r.getDim(), text.toString(), JobPrinter.decoderEvalRow(r), r.getClassifierPacked(),
                        r.getSeconds(), opts.markdown);
            }
            return 0;
        }
    }

    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = "Generate text with a decoder .qbz on the server's device, as 'qbridge generate --model x.qbz' (the text on stdout; tokens/s on stderr).")
    static final class Generate implements Callable<Integer> {
        @ParentCommand SubmitCommand parent;
        @Mixin Follow follow;

        @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE.qbz", description = "A local decoder .qbz from 'qbridge quantize', uploaded first (resumable).")
        Path model;

        @Mixin SamplingOptions sampling;

        @Option(names = "--device", defaultValue = "auto", paramLabel = "emulator|xrt|auto", description = "The server's device (default " + DeviceOption.AUTO_RULE + ", on the server).")
        String device;

        @Mixin ActivationOptions activations;

        @Override
        public Integer call() throws Exception {
            sampling.check();
            if (!Files.isRegularFile(model) || !QbzInfo.isContainer(model)) throw new Main.UserException("--model " + model + ": not a .qbz file");
            try (QbridgeClient c = parent.remote.connect()) {
                ModelRef ref = upload(parent.remote, c, model, null);
                JobSpec spec = QbridgeClient.generateSpec(ref, sampling.prompt, sampling.steps, sampling.temperature, sampling.topp, sampling.seed, device.equals("auto") ? "" : device);
                if (activations.mode() != ActivationMode.INT8_PER_TOKEN) {
                    spec = spec.toBuilder().setGenerate(spec.getGenerate().toBuilder().setActivations(activations.mode().id())).build();
                }
                Job done = submitAndFollow(parent.remote, c, spec, follow);
                if (done == null) return 0;
                var r = done.getResult().getGenerate();
                System.out.println(r.getText());
                Log.info("achieved tok/s: %.2f (%d positions, first excluded as llama2.c counts) on %s", r.getTokensPerSecond(), r.getPositions(), r.getDevice());
            }
            return 0;
        }
    }
}
