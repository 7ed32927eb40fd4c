package io.qbridge.server;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.qbridge.protocol.v1.ArtifactChunk;
import io.qbridge.protocol.v1.CancelJobRequest;
import io.qbridge.protocol.v1.DownloadArtifactRequest;
import io.qbridge.protocol.v1.GetJobRequest;
import io.qbridge.protocol.v1.Job;
import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobKind;
import io.qbridge.protocol.v1.JobServiceGrpc;
import io.qbridge.protocol.v1.JobState;
import io.qbridge.protocol.v1.ListDevicesRequest;
import io.qbridge.protocol.v1.ListDevicesResponse;
import io.qbridge.protocol.v1.ListJobsRequest;
import io.qbridge.protocol.v1.ListJobsResponse;
import io.qbridge.protocol.v1.SubmitJobRequest;
import io.qbridge.protocol.v1.UploadChunk;
import io.qbridge.protocol.v1.UploadStatus;
import java.sql.SQLException;
import java.util.List;

/**
 * The gRPC face of the job service: each method authorizes, validates and translates, and leaves the work
 * to {@link JobScheduler}, {@link JobStore}, {@link WatchSession} and {@link ArtifactDownload}.
 *
 * <p>A job of another client is reported NOT_FOUND, not PERMISSION_DENIED, so job ids cannot be probed.
 */
final class JobServiceImpl extends JobServiceGrpc.JobServiceImplBase {
    static final int MAX_PRIORITY = 9;
    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 500;

    private final JobStore store;
    private final JobScheduler scheduler;
    private final JobEvents events;
    private final ArtifactStore artifacts;
    private final SpecValidator validator;
    private final List<ComputeDevice> devices;
    private final UploadStore uploads;
    private final ServerConfig.Limits limits;
    /** Submits of one client are checked against its job limit one at a time (striped), so the limit is exact. */
    private final Object[] clientLocks = new Object[32];

    JobServiceImpl(JobStore store, JobScheduler scheduler, JobEvents events, ArtifactStore artifacts, List<ComputeDevice> devices, UploadStore uploads,
            ServerConfig.Limits limits) {
        this.uploads = uploads;
        this.limits = limits;
        for (int i = 0; i < clientLocks.length; i++) clientLocks[i] = new Object();
        this.store = store;
        this.scheduler = scheduler;
        this.events = events;
        this.artifacts = artifacts;
        this.devices = List.copyOf(devices);
        this.validator = new SpecValidator(artifacts, this.devices, store.sharedArtifacts().orElse(null));
    }

    @Override
    public void submitJob(SubmitJobRequest req, StreamObserver<Job> out) {
        respond(out, () -> {
            JobKind kind = validateSubmit(req, validator);
            String rid = req.getClientRequestId().isEmpty() ? null : req.getClientRequestId();
            Caller caller = Caller.current();
            synchronized (clientLocks[Math.floorMod(caller.name().hashCode(), clientLocks.length)]) {
                checkJobsPerClient(caller, rid);
                try {
                    return scheduler.submit(caller.name(), kind, req.getSpec(), req.getPriority(), rid, req.getRunTimeoutMillis()).toProto(true);
                } catch (JobScheduler.QueueFullException e) {
                    throw Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asRuntimeException();
                }
            }
        });
    }

    /** Every check of a submit that needs no state but the artifact store: the job's kind, or a status exception naming the field. */
    static JobKind validateSubmit(SubmitJobRequest req, SpecValidator validator) {
        JobKind kind = validator.validate(req.getSpec());
        if (req.getPriority() < 0 || req.getPriority() > MAX_PRIORITY) {
            throw Status.INVALID_ARGUMENT.withDescription("priority: must be between 0 and " + MAX_PRIORITY).asRuntimeException();
        }
        if (req.getRunTimeoutMillis() < 0) throw Status.INVALID_ARGUMENT.withDescription("run_timeout_millis: must not be negative").asRuntimeException();
        if (req.getClientRequestId().length() > 200) throw Status.INVALID_ARGUMENT.withDescription("client_request_id: at most 200 characters").asRuntimeException();
        return kind;
    }

    @Override
    public void getJob(GetJobRequest req, StreamObserver<Job> out) {
        respond(out, () -> visibleJob(req.getJobId()).toProto(true));
    }

    @Override
    public void cancelJob(CancelJobRequest req, StreamObserver<Job> out) {
        respond(out, () -> {
            StoredJob j = visibleJob(req.getJobId());
            return j.isFinal() ? j.toProto(true) : scheduler.cancel(j.id()).toProto(true);
        });
    }

    @Override
    public void listJobs(ListJobsRequest req, StreamObserver<ListJobsResponse> out) {
        respond(out, () -> {
            int size = req.getPageSize() == 0 ? DEFAULT_PAGE : Math.min(req.getPageSize(), MAX_PAGE);
            long before = 0;
            if (!req.getPageToken().isEmpty()) {
                try {
                    before = Long.parseLong(req.getPageToken());
                } catch (NumberFormatException e) {
                    throw Status.INVALID_ARGUMENT.withDescription("page_token: not a token from a previous ListJobs").asRuntimeException();
                }
            }
            Caller c = Caller.current();
            List<JobState> states = req.getStatesList().stream().filter(s -> s != JobState.JOB_STATE_UNSPECIFIED && s != JobState.UNRECOGNIZED).toList();
            // one extra row tells whether another page follows
            List<StoredJob> rows = store.list(c.role() == Caller.Role.ADMIN ? null : c.name(), states, before, size + 1);
            ListJobsResponse.Builder b = ListJobsResponse.newBuilder();
            rows.stream().limit(size).forEach(j -> b.addJobs(j.toProto(false)));
            if (rows.size() > size) b.setNextPageToken(Long.toString(rows.get(size - 1).seq()));
            return b.build();
        });
    }

    @Override
    public void listDevices(ListDevicesRequest req, StreamObserver<ListDevicesResponse> out) {
        respond(out, () -> {
            ListDevicesResponse.Builder b = ListDevicesResponse.newBuilder();
            devices.forEach(d -> b.addDevices(d.toProto()));
            return b.build();
        });
    }

    @Override
    public void watchJob(io.qbridge.protocol.v1.WatchJobRequest req, StreamObserver<JobEvent> out) {
        StoredJob j;
        try {
            j = visibleJob(req.getJobId());
        } catch (StatusRuntimeException e) {
            out.onError(e);
            return;
        } catch (SQLException e) {
            out.onError(storeFailed(e));
            return;
        }
        new WatchSession(j.id(), store, events, (ServerCallStreamObserver<JobEvent>) out).start();
    }

    @Override
    public void downloadArtifact(DownloadArtifactRequest req, StreamObserver<ArtifactChunk> out) {
        try {
            StoredJob j = visibleJob(req.getJobId());
            new ArtifactDownload(artifacts, store.sharedArtifacts().orElse(null), (ServerCallStreamObserver<ArtifactChunk>) out).send(j, req.getSha256(), req.getOffset());
        } catch (StatusRuntimeException e) {
            out.onError(e);
        } catch (SQLException e) {
            out.onError(storeFailed(e));
        }
    }

    @Override
    public StreamObserver<UploadChunk> uploadModel(StreamObserver<UploadStatus> out) {
        return new UploadReceiver(uploads, Caller.current().name(), limits.maxUploadBytes(), out);
    }

    /**
     * RESOURCE_EXHAUSTED when the caller already has its limit of queued plus running jobs. Without a token
     * file everyone is the one caller "local", so the limit would cap the whole server: it is not applied.
     * A repeated submit (same client_request_id) returns its job and is never refused here.
     */
    private void checkJobsPerClient(Caller caller, String requestId) throws SQLException {
        if (caller == Caller.LOCAL) return;
        if (requestId != null && store.findByRequestId(caller.name(), requestId).isPresent()) return;
        int max = limits.maxJobsPerClient();
        int open = store.list(caller.name(), List.of(JobState.JOB_STATE_QUEUED, JobState.JOB_STATE_RUNNING), 0, max).size();
        if (open >= max) {
            throw Status.RESOURCE_EXHAUSTED.withDescription("client " + caller.name() + " already has " + open + " queued or running jobs (the server's limit per client is "
                    + max + "); wait for some to finish").asRuntimeException();
        }
    }

    private StoredJob visibleJob(String id) throws SQLException {
        if (id.isEmpty()) throw Status.INVALID_ARGUMENT.withDescription("job_id: empty").asRuntimeException();
        StoredJob j = store.find(id).orElse(null);
        if (j != null && !Caller.current().maySee(j)) {
            ServerLog.info("refused a call from %s (client %s): job %s belongs to another client (answered NOT_FOUND)", BearerAuthInterceptor.currentRemote(),
                    Caller.current().name(), id);
        }
        if (j == null || !Caller.current().maySee(j)) throw Status.NOT_FOUND.withDescription("no job " + id).asRuntimeException();
        return j;
    }

    private interface Call<T> {
        T get() throws SQLException;
    }

    /** One response or one status: StatusRuntimeException as it is, a store failure as INTERNAL. */
    private static <T> void respond(StreamObserver<T> out, Call<T> call) {
        T value;
        try {
            value = call.get();
        } catch (StatusRuntimeException e) {
            out.onError(e);
            return;
        } catch (SQLException e) {
            out.onError(storeFailed(e));
            return;
        }
        out.onNext(value);
        out.onCompleted();
    }

    private static StatusRuntimeException storeFailed(SQLException e) {
        ServerLog.info("job store failed: %s", e);
        return Status.INTERNAL.withDescription("the job store failed").asRuntimeException();
    }
}
