package io.qbridge.server;

import com.google.protobuf.InvalidProtocolBufferException;
import io.qbridge.protocol.v1.JobEvent;
import io.qbridge.protocol.v1.JobKind;
import io.qbridge.protocol.v1.JobResult;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.protocol.v1.JobState;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Jobs and their events in SQL: an embedded H2 file database ({@code DATA/jobs.mv.db}) by default, or
 * PostgreSQL in fleet mode, where several servers share the tables. One implementation; the few
 * differences are in {@link JobStoreDialect}.
 *
 * <p>The schema is versioned: opening the store brings the database to the latest version
 * ({@link JobStoreSchema} holds the migrations and applies them).
 *
 * <p>Claims and leases: a server takes the next runnable job with {@code SELECT … FOR UPDATE SKIP
 * LOCKED} (concurrent claimers skip each other's row instead of waiting for it), records itself as the
 * owner with a lease expiry on the database's clock, and renews the lease while the job runs. Every
 * later change of a running job names the owner and the attempt, so a server that lost its lease (it
 * stalled and another took the job over) can no longer change the job.
 *
 * <p>Fleet mode keeps two more things here for the servers that did not run a job: its artifacts
 * ({@link SharedArtifacts}, on a connection of its own) and its latest progress, in its row.
 *
 * <p>Durability: every change a caller is told about (a submit acknowledged, a state reached) is
 * committed and, on H2, followed by {@code CHECKPOINT SYNC}. One connection, used under this object's
 * lock: the job rate is far below what that allows, and it makes each method one atomic step.
 */
public final class JobStore implements AutoCloseable {

    private static final String COLUMNS = "seq, id, client, kind, spec, state, priority, created, started, finished, error, result, attempts, request_id, timeout_millis";
    private static final String QUEUED = JobState.JOB_STATE_QUEUED.name();
    private static final String RUNNING = JobState.JOB_STATE_RUNNING.name();

    /** A running job as its owner sees it at a lease renewal. */
    public record Lease(String id, int attempt, boolean cancelRequested) {}

    /** A job taken from a server that stopped (or lost its lease) and the state it is left in: QUEUED again or INTERRUPTED. */
    public record Interrupted(String id, JobState to) {}

    private final JobStoreDialect dialect;
    /** Null unless shared; its own connection, so a transfer of many MiB never holds up the job store. */
    private final SharedArtifacts sharedArtifacts;
    private Connection db;
    private boolean closed;
    private boolean broken;
    private String origin;

    private JobStore(JobStoreDialect dialect, Connection db) {
        this.dialect = dialect;
        this.db = db;
        this.sharedArtifacts = dialect.shared() ? new SharedArtifacts(dialect) : null;
    }

    /** The embedded H2 store under {@code dataDir}. */
    public static JobStore open(Path dataDir) throws SQLException {
        return open(new JobStoreDialect.H2(dataDir), JobStoreSchema.MIGRATIONS.size());
    }

    /**
     * The store {@code --db} names: null for the embedded H2 under {@code dataDir}, else a PostgreSQL URL
     * ({@code postgresql://[user[:password]@]host[:port]/db} or {@code jdbc:postgresql:…}).
     *
     * @throws IllegalArgumentException if the URL is not one of those
     */
    public static JobStore open(String dbUrl, Path dataDir) throws SQLException {
        return open(JobStoreDialect.of(dbUrl, dataDir), JobStoreSchema.MIGRATIONS.size());
    }

    /** Opens with migrations up to {@code version} (tests use a lower one to make an old database). */
    static JobStore open(JobStoreDialect dialect, int version) throws SQLException {
        Connection c = dialect.connect();
        JobStore s = new JobStore(dialect, c);
        try {
            s.migrate(version);
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
        return s;
    }

    /** True when other servers share this store (PostgreSQL): recovery at start is then per host, the rest by lease expiry. */
    public boolean shared() {
        return dialect.shared();
    }

    public String describe() {
        return dialect.describe();
    }

    /** The schema version this database is at after opening. */
    public synchronized int schemaVersion() throws SQLException {
        return JobStoreSchema.version(db);
    }

    private synchronized void migrate(int target) throws SQLException {
        JobStoreSchema.migrate(db, dialect, target);
        flush();
    }

    /** Adds a QUEUED job and makes it durable before returning. */
    public synchronized StoredJob insert(String id, String client, JobKind kind, JobSpec spec, int priority, long now, String requestId) throws SQLException {
        return insert(id, client, kind, spec, priority, now, requestId, 0);
    }

    /**
     * As above, with a run time limit in milliseconds (0 = none). The device the job needs comes from its
     * spec ({@link ComputeDevice#requiredBy}). The row and its QUEUED event are written in one transaction,
     * so no server can claim the job before its history begins.
     */
    public synchronized StoredJob insert(String id, String client, JobKind kind, JobSpec spec, int priority, long now, String requestId, long timeoutMillis)
            throws SQLException {
        inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO jobs (id, client, kind, spec, state, priority, created, request_id, timeout_millis, device) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                ps.setString(1, id);
                ps.setString(2, client);
                ps.setString(3, kind.name());
                ps.setBytes(4, spec.toByteArray());
                ps.setString(5, QUEUED);
                ps.setInt(6, priority);
                ps.setLong(7, now);
                ps.setString(8, requestId);
                ps.setLong(9, timeoutMillis);
                ps.setString(10, ComputeDevice.requiredBy(spec));
                ps.executeUpdate();
            }
            appendEvent(c, stateEvent(id, JobState.JOB_STATE_QUEUED));
            return null;
        });
        return find(id).orElseThrow();
    }

    /** The event recording that a job reached {@code state}, now. */
    static JobEvent stateEvent(String id, JobState state) {
        return JobEvent.newBuilder().setJobId(id).setTimeMillis(System.currentTimeMillis()).setState(state).build();
    }

    public synchronized Optional<StoredJob> find(String id) throws SQLException {
        try (PreparedStatement ps = connection().prepareStatement("SELECT " + COLUMNS + " FROM jobs WHERE id = ?")) {
            ps.setString(1, id);
            List<StoredJob> r = read(ps);
            return r.isEmpty() ? Optional.empty() : Optional.of(r.getFirst());
        }
    }

    public synchronized Optional<StoredJob> findByRequestId(String client, String requestId) throws SQLException {
        try (PreparedStatement ps = connection().prepareStatement("SELECT " + COLUMNS + " FROM jobs WHERE client = ? AND request_id = ?")) {
            ps.setString(1, client);
            ps.setString(2, requestId);
            List<StoredJob> r = read(ps);
            return r.isEmpty() ? Optional.empty() : Optional.of(r.getFirst());
        }
    }

    /**
     * Newest first, jobs submitted before {@code beforeSeq} (0 = from the newest).
     *
     * @param client null for every client
     * @param states empty for every state
     */
    public synchronized List<StoredJob> list(String client, Collection<JobState> states, long beforeSeq, int limit) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM jobs WHERE 1 = 1");
        if (client != null) sql.append(" AND client = ?");
        if (beforeSeq > 0) sql.append(" AND seq < ?");
        if (!states.isEmpty()) sql.append(" AND state IN (").append(states.stream().map(s -> "?").collect(Collectors.joining(", "))).append(")");
        sql.append(" ORDER BY seq DESC LIMIT ?");
        try (PreparedStatement ps = connection().prepareStatement(sql.toString())) {
            int i = 1;
            if (client != null) ps.setString(i++, client);
            if (beforeSeq > 0) ps.setLong(i++, beforeSeq);
            for (JobState s : states) ps.setString(i++, s.name());
            ps.setInt(i, limit);
            return read(ps);
        }
    }

    /**
     * Claims the next runnable job: the first QUEUED job, by priority (higher first) then submission
     * order, whose device requirement is one of {@code devices} ({@code ""} = any server). It becomes
     * RUNNING, owned by {@code owner} with a lease of {@code leaseMillis} from now on the database's
     * clock, and its attempt count goes up by one. Rows another server is claiming at the same moment
     * are skipped, not waited for, so concurrent claimers never take the same job.
     *
     * @return the claimed job, or empty when nothing runnable is queued
     */
    public synchronized Optional<StoredJob> claim(String owner, Collection<String> devices, long startedMillis, long leaseMillis) throws SQLException {
        if (devices.isEmpty()) return Optional.empty();
        String in = devices.stream().map(d -> "?").collect(Collectors.joining(", "));
        String id = inTransaction(c -> {
            String found = null;
            try (PreparedStatement ps = c.prepareStatement("SELECT id FROM jobs WHERE state = ? AND device IN (" + in
                    + ") ORDER BY priority DESC, seq ASC LIMIT 1 FOR UPDATE SKIP LOCKED")) {
                int i = 1;
                ps.setString(i++, QUEUED);
                for (String d : devices) ps.setString(i++, d);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) found = rs.getString(1);
                }
            }
            if (found == null) return null;
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET state = ?, owner = ?, lease_until = " + dialect.nowMillis()
                    + " + ?, started = ?, attempts = attempts + 1, cancel_requested = FALSE, progress = NULL WHERE id = ? AND state = ?")) {
                ps.setString(1, RUNNING);
                ps.setString(2, owner);
                ps.setLong(3, leaseMillis);
                ps.setLong(4, startedMillis);
                ps.setString(5, found);
                ps.setString(6, QUEUED);
                if (ps.executeUpdate() != 1) throw new SQLException("job " + found + " left the queue while locked");
            }
            appendEvent(c, stateEvent(found, JobState.JOB_STATE_RUNNING));
            return found;
        });
        return id == null ? Optional.empty() : find(id);
    }

    /**
     * RUNNING → a final state, only while {@code owner} still holds the job in this {@code attempt};
     * false otherwise (the job was not running, or its lease lapsed and another server took it over).
     * The job's last events go in the same transaction: the error or the result, then the final state,
     * so whoever sees the final state also sees the whole history.
     */
    public synchronized boolean finish(String id, String owner, int attempt, JobState state, long now, String error, JobResult result) throws SQLException {
        if (!StoredJob.isFinal(state)) throw new IllegalArgumentException(state + " is not a final state");
        return inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET state = ?, finished = ?, error = ?, result = ?, owner = NULL, lease_until = 0, progress = NULL"
                    + " WHERE id = ? AND state = ? AND owner = ? AND attempts = ?")) {
                ps.setString(1, state.name());
                ps.setLong(2, now);
                ps.setString(3, error);
                ps.setBytes(4, result == null ? null : result.toByteArray());
                ps.setString(5, id);
                ps.setString(6, RUNNING);
                ps.setString(7, owner);
                ps.setInt(8, attempt);
                if (ps.executeUpdate() != 1) return false;
            }
            for (JobEvent e : finalEvents(id, state, error, result)) appendEvent(c, e);
            return true;
        });
    }

    /** The events {@link #finish} stores: the error or the result (a watcher stops at the final state, so they come first), then the state. */
    static List<JobEvent> finalEvents(String id, JobState state, String error, JobResult result) {
        long t = System.currentTimeMillis();
        List<JobEvent> out = new ArrayList<>();
        if (error != null) out.add(JobEvent.newBuilder().setJobId(id).setTimeMillis(t).setError(error).build());
        if (result != null) out.add(JobEvent.newBuilder().setJobId(id).setTimeMillis(t).setResult(result).build());
        out.add(JobEvent.newBuilder().setJobId(id).setTimeMillis(t).setState(state).build());
        return out;
    }

    /** QUEUED → CANCELLED, with its event; false if the job had already left the queue. */
    public synchronized boolean cancelQueued(String id, long now) throws SQLException {
        return inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET state = ?, finished = ? WHERE id = ? AND state = ?")) {
                ps.setString(1, JobState.JOB_STATE_CANCELLED.name());
                ps.setLong(2, now);
                ps.setString(3, id);
                ps.setString(4, QUEUED);
                if (ps.executeUpdate() != 1) return false;
            }
            appendEvent(c, stateEvent(id, JobState.JOB_STATE_CANCELLED));
            return true;
        });
    }

    /** Asks the owner of a RUNNING job to stop it (it reads the flag when it renews its leases); false if the job is not running. */
    public synchronized boolean requestCancel(String id) throws SQLException {
        return update("UPDATE jobs SET cancel_requested = TRUE WHERE id = ? AND state = ?", id, RUNNING) == 1;
    }

    /**
     * The owner gives a running job back: RUNNING → INTERRUPTED, then → QUEUED again if the job is
     * {@linkplain StoredJob#safeToRepeat safe to repeat}, with those state events, in one transaction.
     * Returns the state the job is left in, or null if {@code owner} no longer held it in this attempt.
     */
    public synchronized JobState interrupt(String id, String owner, int attempt, String reason) throws SQLException {
        Optional<StoredJob> j = find(id);
        if (j.isEmpty()) return null;
        JobState to = afterInterrupt(j.get().kind());
        return inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET state = ?, error = ?, started = 0, owner = NULL, lease_until = 0, cancel_requested = FALSE, progress = NULL"
                    + " WHERE id = ? AND state = ? AND owner = ? AND attempts = ?")) {
                ps.setString(1, to.name());
                ps.setString(2, reason);
                ps.setString(3, id);
                ps.setString(4, RUNNING);
                ps.setString(5, owner);
                ps.setInt(6, attempt);
                if (ps.executeUpdate() != 1) return null;
            }
            appendInterruptEvents(c, id, to);
            return to;
        });
    }

    private void appendInterruptEvents(Connection c, String id, JobState to) throws SQLException {
        appendEvent(c, stateEvent(id, JobState.JOB_STATE_INTERRUPTED));
        if (to == JobState.JOB_STATE_QUEUED) appendEvent(c, stateEvent(id, JobState.JOB_STATE_QUEUED));
    }

    /**
     * Takes back RUNNING jobs whose owner is gone, as {@link #interrupt} does: with {@code owner} null
     * every RUNNING job (the embedded store at start: nobody else can be running them), with an owner
     * the jobs a previous run of that server left, and with {@code expiredOnly} the jobs of any owner
     * whose lease has run out. Each row is taken under a row lock, so two servers never take over the
     * same job.
     */
    public synchronized List<Interrupted> interruptRunning(String owner, boolean expiredOnly, String reason) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT id, kind, attempts FROM jobs WHERE state = ?");
        if (owner != null) sql.append(" AND owner = ?");
        if (expiredOnly) sql.append(" AND lease_until < ").append(dialect.nowMillis());
        sql.append(" ORDER BY seq FOR UPDATE SKIP LOCKED");
        return inTransaction(c -> {
            List<Interrupted> out = new ArrayList<>();
            List<String[]> rows = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
                ps.setString(1, RUNNING);
                if (owner != null) ps.setString(2, owner);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) rows.add(new String[] {rs.getString(1), rs.getString(2), Integer.toString(rs.getInt(3))});
                }
            }
            for (String[] r : rows) {
                JobState to = afterInterrupt(JobKind.valueOf(r[1]));
                try (PreparedStatement up = c.prepareStatement("UPDATE jobs SET state = ?, error = ?, started = 0, owner = NULL, lease_until = 0,"
                        + " cancel_requested = FALSE, progress = NULL WHERE id = ? AND state = ? AND attempts = ?")) {
                    up.setString(1, to.name());
                    up.setString(2, reason);
                    up.setString(3, r[0]);
                    up.setString(4, RUNNING);
                    up.setInt(5, Integer.parseInt(r[2]));
                    if (up.executeUpdate() != 1) continue;
                }
                appendInterruptEvents(c, r[0], to);
                out.add(new Interrupted(r[0], to));
            }
            return out;
        });
    }

    /**
     * Extends the lease of every job {@code owner} runs to {@code leaseMillis} from now and returns them
     * with their cancel flags. A job the owner thinks it runs but that is missing here was taken over.
     */
    public synchronized List<Lease> renew(String owner, long leaseMillis) throws SQLException {
        // not flushed: a lease that does not survive a crash changes nothing (a restart takes its own jobs back, others wait out the lease)
        try (PreparedStatement ps = connection().prepareStatement("UPDATE jobs SET lease_until = " + dialect.nowMillis() + " + ? WHERE owner = ? AND state = ?")) {
            ps.setLong(1, leaseMillis);
            ps.setString(2, owner);
            ps.setString(3, RUNNING);
            execute(ps);
        }
        try (PreparedStatement ps = connection().prepareStatement("SELECT id, attempts, cancel_requested FROM jobs WHERE owner = ? AND state = ?")) {
            ps.setString(1, owner);
            ps.setString(2, RUNNING);
            List<Lease> out = new ArrayList<>();
            try (ResultSet rs = executeQuery(ps)) {
                while (rs.next()) out.add(new Lease(rs.getString(1), rs.getInt(2), rs.getBoolean(3)));
            }
            return out;
        }
    }

    /** The owner and lease expiry (database clock, ms) of a job, for tests and diagnostics; null owner when it is not running. */
    synchronized Optional<Map.Entry<String, Long>> ownerOf(String id) throws SQLException {
        try (PreparedStatement ps = connection().prepareStatement("SELECT owner, lease_until FROM jobs WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = executeQuery(ps)) {
                if (!rs.next() || rs.getString(1) == null) return Optional.empty();
                return Optional.of(Map.entry(rs.getString(1), rs.getLong(2)));
            }
        }
    }

    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /** Runs {@code work} in one transaction, committed (and flushed) or rolled back as a whole. */
    private <T> T inTransaction(Work<T> work) throws SQLException {
        Connection c = connection();
        c.setAutoCommit(false);
        try {
            T r = work.run(c);
            c.commit();
            c.setAutoCommit(true);
            dialect.flush(c);
            return r;
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly(c);
            try {
                if (!c.isClosed()) c.setAutoCommit(true);
            } catch (SQLException ignored) {
                // broken connection: noteFailure below marks it for reopening
            }
            throw noteFailure(e);
        }
    }

    private void appendEvent(Connection c, JobEvent e) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO events (job_id, event, origin) VALUES (?, ?, ?)")) {
            ps.setString(1, e.getJobId());
            ps.setBytes(2, e.toByteArray());
            ps.setString(3, origin);
            ps.executeUpdate();
        }
    }

    private static JobState afterInterrupt(JobKind kind) {
        return StoredJob.safeToRepeat(kind) ? JobState.JOB_STATE_QUEUED : JobState.JOB_STATE_INTERRUPTED;
    }

    public synchronized int countInState(JobState state) throws SQLException {
        try (PreparedStatement ps = connection().prepareStatement("SELECT COUNT(*) FROM jobs WHERE state = ?")) {
            ps.setString(1, state.name());
            try (ResultSet rs = executeQuery(ps)) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /**
     * Records the latest progress of a running job in its row (fleet mode: servers other than the owner
     * relay it to their watchers; {@link JobScheduler} throttles the calls, so progress never floods the
     * database). Only while {@code owner} holds the job in this {@code attempt}; not flushed: progress is
     * advice, and a crash loses nothing a client relies on. Returns false if the owner no longer holds it.
     */
    public synchronized boolean saveProgress(String id, String owner, int attempt, JobEvent progress) throws SQLException {
        if (!progress.hasProgress()) throw new IllegalArgumentException("not a progress event: " + progress.getEventCase());
        try (PreparedStatement ps = connection().prepareStatement("UPDATE jobs SET progress = ? WHERE id = ? AND state = ? AND owner = ? AND attempts = ?")) {
            ps.setBytes(1, progress.toByteArray());
            ps.setString(2, id);
            ps.setString(3, RUNNING);
            ps.setString(4, owner);
            ps.setInt(5, attempt);
            return execute(ps) == 1;
        }
    }

    /**
     * The latest stored progress of those of {@code ids} that are RUNNING on a server other than
     * {@code self} (a job that is not running has none: claims and every end clear it).
     */
    public synchronized Map<String, JobEvent> progressOfOthers(Collection<String> ids, String self) throws SQLException {
        if (ids.isEmpty()) return Map.of();
        String in = ids.stream().map(x -> "?").collect(Collectors.joining(", "));
        try (PreparedStatement ps = connection().prepareStatement("SELECT id, progress FROM jobs WHERE id IN (" + in
                + ") AND state = ? AND owner <> ? AND progress IS NOT NULL")) {
            int i = 1;
            for (String id : ids) ps.setString(i++, id);
            ps.setString(i++, RUNNING);
            ps.setString(i, self);
            Map<String, JobEvent> out = new java.util.HashMap<>();
            try (ResultSet rs = executeQuery(ps)) {
                while (rs.next()) out.put(rs.getString(1), JobEvent.parseFrom(rs.getBytes(2)));
            }
            return out;
        } catch (InvalidProtocolBufferException e) {
            throw new SQLException("a stored progress event is corrupt: " + e.getMessage(), e);
        }
    }

    /**
     * Where a fleet keeps job artifacts for every server to serve: present only when the store is shared
     * (PostgreSQL). The embedded store's single server has them all in its {@code --data}.
     */
    Optional<SharedArtifacts> sharedArtifacts() {
        return Optional.ofNullable(sharedArtifacts);
    }

    /** Appends an event (transitions, log lines, results; progress is kept apart, in the job's row: {@link #saveProgress}) and flushes. */
    public synchronized void appendEvent(JobEvent e) throws SQLException {
        inTransaction(c -> {
            appendEvent(c, e);
            return null;
        });
    }

    /** Names the server whose events this store writes (fleet mode: other servers relay them to their watchers). */
    synchronized void originateAs(String hostId) {
        this.origin = hostId;
    }

    /** The highest event sequence number so far (0 for none). */
    public synchronized long lastEventSeq() throws SQLException {
        try (PreparedStatement ps = connection().prepareStatement("SELECT COALESCE(MAX(seq), 0) FROM events"); ResultSet rs = executeQuery(ps)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Sequence numbers of events after {@code afterSeq} written by servers other than {@code origin}, in order. */
    public synchronized List<Long> eventSeqsFromOthers(long afterSeq, String origin) throws SQLException {
        try (PreparedStatement ps = connection().prepareStatement("SELECT seq FROM events WHERE seq > ? AND (origin IS NULL OR origin <> ?) ORDER BY seq")) {
            ps.setLong(1, afterSeq);
            ps.setString(2, origin);
            List<Long> out = new ArrayList<>();
            try (ResultSet rs = executeQuery(ps)) {
                while (rs.next()) out.add(rs.getLong(1));
            }
            return out;
        }
    }

    /** The events with these sequence numbers, in order. */
    public synchronized List<JobEvent> eventsBySeq(Collection<Long> seqs) throws SQLException {
        if (seqs.isEmpty()) return List.of();
        String in = seqs.stream().map(x -> "?").collect(Collectors.joining(", "));
        try (PreparedStatement ps = connection().prepareStatement("SELECT event FROM events WHERE seq IN (" + in + ") ORDER BY seq")) {
            int i = 1;
            for (long q : seqs) ps.setLong(i++, q);
            List<JobEvent> out = new ArrayList<>();
            try (ResultSet rs = executeQuery(ps)) {
                while (rs.next()) out.add(JobEvent.parseFrom(rs.getBytes(1)));
            }
            return out;
        } catch (InvalidProtocolBufferException e) {
            throw new SQLException("a stored event is corrupt: " + e.getMessage(), e);
        }
    }

    public synchronized List<JobEvent> events(String jobId) throws SQLException {
        try (PreparedStatement ps = connection().prepareStatement("SELECT event FROM events WHERE job_id = ? ORDER BY seq")) {
            ps.setString(1, jobId);
            List<JobEvent> out = new ArrayList<>();
            try (ResultSet rs = executeQuery(ps)) {
                while (rs.next()) out.add(JobEvent.parseFrom(rs.getBytes(1)));
            }
            return out;
        } catch (InvalidProtocolBufferException e) {
            throw new SQLException("event of job " + jobId + " is corrupt: " + e.getMessage(), e);
        }
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    /** A clean close: everything is durable. */
    @Override
    public synchronized void close() throws SQLException {
        if (closed) return;
        closed = true;
        try {
            if (sharedArtifacts != null) sharedArtifacts.close();
        } finally {
            dialect.close(db);
        }
    }

    /**
     * Drops the database connection without writing anything more, as a crash would (tests use it to prove
     * that what was acknowledged survives, and, on a shared store, that leases of a dead server lapse).
     * Later calls fail.
     */
    synchronized void crash() throws SQLException {
        if (closed) return;
        closed = true;
        if (sharedArtifacts != null) sharedArtifacts.close();
        try (Statement st = db.createStatement()) {
            if (dialect instanceof JobStoreDialect.H2) st.execute("SHUTDOWN IMMEDIATELY");
        } catch (SQLException expected) {
            // H2 reports the connection it just closed
        } finally {
            db.close();
        }
    }

    /**
     * The connection, reopened if the last use found it broken (a PostgreSQL restart or a network cut):
     * the failed call reported its error; the next one starts afresh.
     */
    private Connection connection() throws SQLException {
        if (closed) throw new SQLException("the job store is closed");
        if (broken) {
            try {
                db.close();
            } catch (SQLException ignored) {
                // it is broken: closing is only tidying up
            }
            db = dialect.connect();
            broken = false;
        }
        return db;
    }

    private SQLException noteFailure(Exception e) {
        if (e instanceof SQLException se) {
            String state = se.getSQLState();
            try {
                if ((state != null && state.startsWith("08")) || db.isClosed()) broken = true;
            } catch (SQLException ignored) {
                broken = true;
            }
            return se;
        }
        throw (RuntimeException) e;
    }

    private static void rollbackQuietly(Connection c) {
        try {
            c.rollback();
        } catch (SQLException ignored) {
            // the connection is gone; the transaction with it
        }
    }

    private void flush() throws SQLException {
        try {
            dialect.flush(connection());
        } catch (SQLException e) {
            throw noteFailure(e);
        }
    }

    private int execute(PreparedStatement ps) throws SQLException {
        try {
            return ps.executeUpdate();
        } catch (SQLException e) {
            throw noteFailure(e);
        }
    }

    private ResultSet executeQuery(PreparedStatement ps) throws SQLException {
        try {
            return ps.executeQuery();
        } catch (SQLException e) {
            throw noteFailure(e);
        }
    }

    private int update(String sql, Object... args) throws SQLException {
        int n;
        try (PreparedStatement ps = connection().prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) ps.setObject(i + 1, args[i]);
            n = execute(ps);
        }
        if (n > 0) flush();
        return n;
    }

    private List<StoredJob> read(PreparedStatement ps) throws SQLException {
        List<StoredJob> out = new ArrayList<>();
        try (ResultSet rs = executeQuery(ps)) {
            while (rs.next()) {
                byte[] result = rs.getBytes("result");
                try {
                    out.add(new StoredJob(rs.getLong("seq"), rs.getString("id"), rs.getString("client"), JobKind.valueOf(rs.getString("kind")),
                            JobSpec.parseFrom(rs.getBytes("spec")), JobState.valueOf(rs.getString("state")), rs.getInt("priority"), rs.getLong("created"),
                            rs.getLong("started"), rs.getLong("finished"), rs.getString("error"), result == null ? null : JobResult.parseFrom(result),
                            rs.getInt("attempts"), rs.getString("request_id"), rs.getLong("timeout_millis")));
                } catch (InvalidProtocolBufferException e) {
                    throw new SQLException("job " + rs.getString("id") + " is corrupt: " + e.getMessage(), e);
                }
            }
        }
        return out;
    }
}
