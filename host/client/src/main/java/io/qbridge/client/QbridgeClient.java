package io.qbridge.client;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import javax.net.ssl.SSLException;
import io.grpc.stub.MetadataUtils;
import io.qbridge.protocol.v1.ArtifactChunk;
import io.qbridge.protocol.v1.CancelJobRequest;
import io.qbridge.protocol.v1.Device;
import io.qbridge.protocol.v1.DownloadArtifactRequest;
import io.qbridge.protocol.v1.GetJobRequest;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobServiceGrpc;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.ListDevicesRequest;
import io.qbridge.protocol.v1.ListJobsRequest;
import io.qbridge.protocol.v1.ListJobsResponse;
import io.qbridge.protocol.v1.ModelRef;
import io.qbridge.protocol.v1.QuantizeSpec;
import io.qbridge.protocol.v1.RunSpec;
import io.qbridge.protocol.v1.SubmitJobRequest;
import io.qbridge.protocol.v1.WatchJobRequest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A blocking client of a {@code qbridge serve} job server. Failures surface as grpc's
 * {@link io.grpc.StatusRuntimeException} carrying the server's status code and message.
 *
 * <pre>{@code
 * try (QbridgeClient c = QbridgeClient.connect("127.0.0.1:7443", token)) {
 *     Job j = c.submit(QbridgeClient.runSpec("minilm", List.of("Hello.")), 0);
 *     Job done = c.await(j.getId(), e -> {});
 *     float[][] emb = QbridgeClient.embeddings(done);
 * }
 * }</pre>
 */
public final class QbridgeClient implements AutoCloseable {
    /** Largest message accepted from the server (a run result of 4,096 384-d embeddings is about 6.3 MB). */
    static final int MAX_INBOUND_BYTES = 64 << 20;

    private final ManagedChannel channel;
    private final JobServiceGrpc.JobServiceBlockingStub stub;
    private final JobServiceGrpc.JobServiceStub async;
    private final boolean tls;

    private QbridgeClient(ManagedChannel channel, String token, boolean tls) {
        this.channel = channel;
        this.tls = tls;
        JobServiceGrpc.JobServiceBlockingStub s = JobServiceGrpc.newBlockingStub(channel);
        JobServiceGrpc.JobServiceStub a = JobServiceGrpc.newStub(channel);
        if (token != null) {
            Metadata m = new Metadata();
            m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
            s = s.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
            a = a.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
        }
        this.stub = s;
        this.async = a;
    }

    /**
     * A plaintext connection to {@code host:port}.
     *
     * @param token the bearer token, or null for a server without a token file
     */
    public static QbridgeClient connect(String hostPort, String token) {
        return builder(hostPort).token(token).build();
    }

    /** A client for {@code host:port}: plain text unless {@link Builder#tlsCa} is given. */
    public static Builder builder(String hostPort) {
        return new Builder(hostPort);
    }

    /** How to reach and authenticate to a server. */
    public static final class Builder {
        private final String host;
        private final int port;
        private String token;
        private Path tlsCa;

        private Builder(String hostPort) {
            int colon = hostPort.lastIndexOf(':');
            if (colon <= 0 || colon == hostPort.length() - 1) throw new IllegalArgumentException(hostPort + ": expected HOST:PORT");
            try {
                port = Integer.parseInt(hostPort.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(hostPort + ": the port is not a number");
            }
            host = hostPort.substring(0, colon);
        }

        /** The bearer token; null (the default) for a server without a token file. */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /**
         * Speak TLS and trust exactly the CA certificate(s) in this PEM file (for a server started with
         * {@code --init-tls}, its {@code server-cert.pem}); the server's name must match its certificate.
         */
        public Builder tlsCa(Path caPem) {
            this.tlsCa = caPem;
            return this;
        }

        /** Connects lazily (the first call connects); a bad CA file fails here with an IOException naming it. */
        public QbridgeClient build() {
            NettyChannelBuilder b = NettyChannelBuilder.forAddress(host, port).maxInboundMessageSize(MAX_INBOUND_BYTES);
            if (tlsCa == null) {
                b.usePlaintext();
            } else {
                if (!Files.isRegularFile(tlsCa)) throw new IllegalArgumentException(tlsCa + ": no such CA file");
                try {
                    b.sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient().trustManager(tlsCa.toFile()), SslProvider.JDK).build());
                } catch (SSLException | IllegalArgumentException e) {
                    throw new IllegalArgumentException(tlsCa + ": not a usable PEM CA certificate: " + e.getMessage(), e);
                }
            }
            return new QbridgeClient(b.build(), token, tlsCa != null);
        }
    }

    /** Whether this client speaks TLS. */
    public boolean isTls() {
        return tls;
    }

    public static JobSpec quantizeSpec(String builtinModel, String format, int calibration) {
        return JobSpec.newBuilder().setQuantize(QuantizeSpec.newBuilder().setModel(ModelRef.newBuilder().setBuiltin(builtinModel)).setFormat(format)
                .setCalibration(calibration)).build();
    }

    /** A bench job on {@code device} (emulator, xrt or auto) with the local command's defaults for everything else. */
    public static JobSpec benchSpec(String builtinModel, String format, String device, int runs, int warmup) {
        return JobSpec.newBuilder().setBench(io.qbridge.protocol.v1.BenchSpec.newBuilder().setModel(ModelRef.newBuilder().setBuiltin(builtinModel))
                .setFormat(format).setDevice(device).setRepeats(runs).setWarmup(warmup)).build();
    }

    /** An eval job over {@code formats} with {@code heldOut} held-out and {@code retrieval} retrieval sentences. */
    public static JobSpec evalSpec(String builtinModel, List<String> formats, int heldOut, int retrieval) {
        return JobSpec.newBuilder().setEval(io.qbridge.protocol.v1.EvalSpec.newBuilder().setModel(ModelRef.newBuilder().setBuiltin(builtinModel))
                .addAllFormats(formats).setHeldOut(heldOut).setRetrieval(retrieval)).build();
    }

    /**
     * The perplexity of an uploaded decoder .qbz ({@code model}) on {@code text}, in windows of {@code window}
     * positions (0 = 256), as {@code qbridge eval --model x.qbz --text FILE}: give the file's non-empty lines,
     * stripped and joined with "\n", which is what the local command measures.
     */
    public static JobSpec decoderEvalSpec(ModelRef model, String text, int window) {
        return JobSpec.newBuilder().setDecoderEval(io.qbridge.protocol.v1.DecoderEvalSpec.newBuilder().setModel(model).setText(text).setWindow(window)).build();
    }

    /**
     * Text from an uploaded decoder .qbz ({@code model}), as {@code qbridge generate --model x.qbz}: {@code steps}
     * positions (0 = the model's), {@code temperature} 0 = greedy, {@code seed} null = the server's clock.
     */
    public static JobSpec generateSpec(ModelRef model, String prompt, int steps, float temperature, float topp, Long seed, String device) {
        io.qbridge.protocol.v1.GenerateSpec.Builder g = io.qbridge.protocol.v1.GenerateSpec.newBuilder().setModel(model).setPrompt(prompt).setSteps(steps)
                .setTemperature(temperature).setTopp(topp).setDevice(device);
        if (seed != null) g.setSeed(seed);
        return JobSpec.newBuilder().setGenerate(g).build();
    }

    public static JobSpec runSpec(String builtinModel, List<String> sentences) {
        return runSpec(ModelRef.newBuilder().setBuiltin(builtinModel).build(), "", sentences);
    }

    public static JobSpec runSpec(ModelRef model, String format, List<String> sentences) {
        return JobSpec.newBuilder().setRun(RunSpec.newBuilder().setModel(model).setFormat(format).addAllSentences(sentences)).build();
    }

    public Job submit(JobSpec spec, int priority) {
        return stub.submitJob(SubmitJobRequest.newBuilder().setSpec(spec).setPriority(priority).build());
    }

    /** As {@link #submit}, idempotent: a retry with the same {@code requestId} returns the job the first call created. */
    public Job submit(JobSpec spec, int priority, String requestId) {
        return stub.submitJob(SubmitJobRequest.newBuilder().setSpec(spec).setPriority(priority).setClientRequestId(requestId).build());
    }

    /** As {@link #submit}, failing the job if it runs longer than {@code runTimeoutMillis} once started. */
    public Job submitWithTimeout(JobSpec spec, int priority, long runTimeoutMillis) {
        return stub.submitJob(SubmitJobRequest.newBuilder().setSpec(spec).setPriority(priority).setRunTimeoutMillis(runTimeoutMillis).build());
    }

    public Job get(String jobId) {
        return stub.getJob(GetJobRequest.newBuilder().setJobId(jobId).build());
    }

    public Job cancel(String jobId) {
        return stub.cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build());
    }

    public ListJobsResponse list(Collection<JobState> states, int pageSize, String pageToken) {
        return stub.listJobs(ListJobsRequest.newBuilder().addAllStates(states).setPageSize(pageSize).setPageToken(pageToken == null ? "" : pageToken).build());
    }

    public List<Device> devices() {
        return stub.listDevices(ListDevicesRequest.getDefaultInstance()).getDevicesList();
    }

    /**
     * Follows the job until it is final and returns it. {@code onEvent} hears every event. A watch ends
     * early when the job is interrupted; if the job was queued again (a restarted server, or in fleet mode
     * another server taking it over after its lease) and the server still answers, the job is watched
     * again, so a job is followed across a takeover. If the server has stopped, the call fails UNAVAILABLE.
     */
    public Job await(String jobId, Consumer<JobEvent> onEvent) {
        for (int watches = 1; ; watches++) {
            Iterator<JobEvent> it = stub.watchJob(WatchJobRequest.newBuilder().setJobId(jobId).build());
            while (it.hasNext()) {
                JobEvent e = it.next();
                if (onEvent != null) onEvent.accept(e);
            }
            Job now = get(jobId);
            boolean live = now.getState() == JobState.JOB_STATE_QUEUED || now.getState() == JobState.JOB_STATE_RUNNING;
            // a bound, so that a server whose watches end at once cannot keep a client spinning
            if (!live || watches >= MAX_WATCHES) return now;
        }
    }

    /** How many times {@link #await} watches one job (each interruption and re-queue costs one). */
    static final int MAX_WATCHES = 1000;

    /**
     * Downloads the job's main artifact (quantize: the .qbz; bench and eval: the JSON document) into
     * {@code dir} under its suggested name: written to a temporary file, checked against its sha256, then
     * renamed. Returns the file.
     */
    public Path download(String jobId, Path dir) throws IOException {
        return download(jobId, "", dir);
    }

    /** As {@link #download(String, Path)} for the artifact with this sha256 ("" = the main one), e.g. a bench chart. */
    public Path download(String jobId, String sha256, Path dir) throws IOException {
        // as io.qbridge.files.OutputFiles (this module does not depend on core): createFile gets the umask's mode, createTempFile 0600
        byte[] random = new byte[8];
        new java.security.SecureRandom().nextBytes(random);
        Path tmp = Files.createFile(dir.resolve(".qbridge-fetch-" + java.util.HexFormat.of().formatHex(random) + ".part"));
        String name;
        try (OutputStream os = Files.newOutputStream(tmp)) {
            name = fetch(jobId, sha256, os);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Path out = dir.resolve(Path.of(name).getFileName().toString()); // never a path from the server
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return out;
    }

    /** A (small) artifact's bytes, checked against its sha256: e.g. the JSON document of a bench or eval job. */
    public byte[] artifactBytes(String jobId, String sha256) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        fetch(jobId, sha256, out);
        return out.toByteArray();
    }

    /** Streams an artifact into {@code os}, checks its sha256, and returns its suggested name. */
    private String fetch(String jobId, String sha256, OutputStream os) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        String expected = null, name = null;
        Iterator<ArtifactChunk> it = stub.downloadArtifact(DownloadArtifactRequest.newBuilder().setJobId(jobId).setSha256(sha256).build());
        long pos = 0;
        while (it.hasNext()) {
            ArtifactChunk c = it.next();
            if (c.getOffset() != pos) throw new IOException("artifact chunk at " + c.getOffset() + ", expected " + pos);
            c.getData().writeTo(os);
            md.update(c.getData().asReadOnlyByteBuffer());
            pos += c.getData().size();
            expected = c.getSha256();
            if (c.hasName()) name = c.getName();
        }
        String got = HexFormat.of().formatHex(md.digest());
        if (expected == null || !expected.equals(got)) throw new IOException("downloaded artifact has sha256 " + got + ", the server said " + expected);
        if (name == null || name.isBlank()) {
            // a server from before artifact names were sent: its only artifacts were .qbz containers
            Job job = get(jobId);
            name = job.getResult().hasQuantize() ? job.getResult().getQuantize().getContainer().getName() : jobId + ".bin";
        }
        return name;
    }

    /** A finished upload: the sha256 to name in {@code ModelRef.upload_sha256}, the size, and where this call began sending. */
    public record Upload(String sha256, long size, long resumedAt) {}

    /** As {@link #uploadModel(Path, String, java.util.function.LongConsumer)} with an id derived from the file's content. */
    public Upload uploadModel(Path file) throws IOException, InterruptedException {
        return uploadModel(file, null, null);
    }

    /**
     * Uploads a model file (a .qbz, or a BERT .onnx) and returns its sha256 once the server has verified,
     * validated and stored it. After a broken connection (UNAVAILABLE, a deadline, an abort) it asks the
     * server how much it holds and continues from there, up to {@link ModelUpload#ATTEMPTS} attempts (also
     * after FAILED_PRECONDITION: late chunks of the broken stream moved the server on); any other status (a
     * wrong sha256, not a model, a limit) is thrown at once.
     *
     * @param uploadId null: "f" + the first 40 hex digits of the file's sha256, so running the same upload
     *                 again after a crash resumes it
     * @param sent     hears the bytes sent so far (starting at the resume point), or null
     */
    public Upload uploadModel(Path file, String uploadId, java.util.function.LongConsumer sent) throws IOException, InterruptedException {
        return new ModelUpload(async, file, uploadId, sent).run();
    }

    /** The embeddings of a succeeded run job, one row per sentence. */
    public static float[][] embeddings(Job job) {
        if (!job.getResult().hasRun()) throw new IllegalArgumentException("job " + job.getId() + " has no run result (state " + job.getState() + ")");
        var r = job.getResult().getRun();
        float[][] out = new float[r.getEmbeddingsCount()][];
        for (int i = 0; i < out.length; i++) {
            var e = r.getEmbeddings(i);
            out[i] = new float[e.getValuesCount()];
            for (int j = 0; j < out[i].length; j++) out[i][j] = e.getValues(j);
        }
        return out;
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
