/**
 * The distributed workers' queue on PostgreSQL: core's `JobQueue` port over the `job_queue` tables
 * of a log's schema. It behaves exactly like core's in-memory reference queue, across processes
 * and machines: workers claim with `FOR UPDATE SKIP LOCKED`, so they never wait on each other's
 * claims; a build's enqueues and finishes are serialised by an advisory lock on the build, so
 * dependents are unblocked exactly once and exactly one finisher sees the build complete; leases
 * are judged by the database's clock.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { EventLog, GroupCommit, JobQueue, Manifest, PartitionRef, Spans } from "@tessera/core"
import { Effect, Either, ParseResult, Ref, Schema, type Stream } from "effect"
import type { LogContext } from "./LogContext.js"
import { decodeJobRuns, decodePartitions } from "./Rows.js"
import { LOCK_QUEUE } from "./Migrations.js"
import { STORE } from "./SqlErrors.js"
import * as SqlText from "./SqlText.js"
import * as Transaction from "./Transaction.js"

/** What the queue shares with the log it sits beside: the client, the schema, retries, and the LISTEN connection's wake-ups. */
export interface Context extends Pick<LogContext, "schema" | "channel" | "resilient" | "operationTimeout"> {
  /** Wake-ups from the log's LISTEN connection for notifications with `QUEUE_PAYLOAD`. */
  readonly wakeups: Stream.Stream<void, EventLog.StoreError>
}

/** The payload of the queue's notifications on the log's channel; tails ignore them. */
export const QUEUE_PAYLOAD = "queue"

/** The run as stored in `job_queue.run`: everything of a `QueuedRun` but its build and key, as JSON. */
const StoredRun = Schema.parseJson(
  Schema.Struct({
    jobName: Schema.String,
    outputs: Schema.Array(PartitionRef.PartitionRef),
    inputs: Schema.Array(PartitionRef.PartitionRef),
    args: Schema.Record({ key: Schema.String, value: Manifest.Json }),
    dependsOn: Schema.Array(Schema.String)
  })
)
const encodeRun = Schema.encodeSync(StoredRun)
const decodeRun = Schema.decodeUnknownEither(StoredRun)

/** The second key of a build's advisory lock: FNV-1a of schema and build id, as a signed 32-bit integer. */
const buildLockKey = (schema: string, buildRequestId: string): number => {
  let hash = 0x811c9dc5
  const text = `${schema}\u0000${buildRequestId}`
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash | 0
}

type RunId = { readonly buildRequestId: string; readonly key: string }

/** A finish waiting for its group. */
interface FinishItem {
  readonly worker: string
  readonly run: RunId
  readonly result: JobQueue.RunResult
}

/** The most finishes one transaction commits. */
const FINISH_GROUP = 64

/** A failed run as the queue reads it back, in `failure_ref AS ref, failure_reason AS reason`. */
interface FailureRow {
  readonly key: string
  readonly ref: string
  readonly reason: string
}

/** The failure as `Finished.failures` lists it: only its fields, not the driver's row. */
const failureOf = (row: FailureRow) => ({ key: row.key, ref: row.ref, reason: row.reason })

/** The queue over the `PgClient` in context, in a schema `PgEventLog` has migrated. */
export const make = Effect.fn("PgJobQueue.make")(function* (context: Context) {
  const sql = yield* PgClient.PgClient
  const { schema, channel, resilient } = context
  const queue = sql(`${schema}.job_queue`)
  const deps = sql(`${schema}.job_queue_deps`)
  const builds = sql(`${schema}.job_queue_builds`)
  const partitions = sql(`${schema}.partitions`)
  const jobRuns = sql(`${schema}.job_runs`)

  /**
   * One transaction on a connection of its own, begun together with the advisory locks of `buildIds`
   * (in key order, so two transactions never wait on each other in a cycle). The keys are integers,
   * so BEGIN and the locks go out as one simple-protocol message.
   */
  const locked = <A, E, R>(buildIds: ReadonlyArray<string>, body: Effect.Effect<A, E, R>) => {
    const keys = [...new Set(buildIds.map((id) => buildLockKey(schema, id)))].sort((a, b) => a - b)
    const locks = keys.map((key) => `SELECT pg_advisory_xact_lock(${LOCK_QUEUE}, ${key})`)
    return Transaction.run(sql, Transaction.begin(locks, context.operationTimeout), body)
  }

  const enqueue: JobQueue.JobQueueShape["enqueue"] = Effect.fn("PgJobQueue.enqueue")(function* (runs) {
    yield* Effect.annotateCurrentSpan({ runs: runs.length })
    // The first of duplicates wins, as in the reference queue; dependencies count once.
    const seen = new Set<string>()
    const rows: Array<{ build: string; key: string; run: string; order: number; job: string; version: string | null }> =
      []
    const edges: Array<{ build: string; key: string; dep: string; order: number }> = []
    for (const run of runs) {
      const id = `${run.buildRequestId}\u0000${run.key}`
      if (seen.has(id)) continue
      seen.add(id)
      const dependsOn = [...new Set(run.dependsOn)]
      const stored = encodeRun({
        jobName: run.jobName,
        outputs: run.outputs,
        inputs: run.inputs,
        args: run.args,
        dependsOn: run.dependsOn
      })
      rows.push({
        build: run.buildRequestId,
        key: run.key,
        run: stored,
        order: rows.length,
        job: run.jobName,
        version: run.jobVersion ?? null
      })
      for (const [order, dep] of dependsOn.entries())
        edges.push({ build: run.buildRequestId, key: run.key, dep, order })
    }
    if (rows.length === 0) return
    const statement = sql`
      WITH input AS (
        SELECT * FROM unnest(${rows.map((r) => r.build)}::text[], ${rows.map((r) => r.key)}::text[],
          ${rows.map((r) => r.run)}::text[], ${rows.map((r) => r.order)}::int4[], ${rows.map((r) => r.job)}::text[],
          ${rows.map((r) => r.version)}::text[]) AS t(build_request_id, key, run, ord, job_name, job_version)
      ), fresh AS (
        SELECT i.* FROM input i WHERE NOT EXISTS (
          SELECT 1 FROM ${queue} q WHERE q.build_request_id = i.build_request_id AND q.key = i.key)
      ), edges AS (
        SELECT e.* FROM unnest(${edges.map((e) => e.build)}::text[], ${edges.map((e) => e.key)}::text[],
          ${edges.map((e) => e.dep)}::text[], ${edges.map((e) => e.order)}::int4[]) AS e(build_request_id, key, dep, ord)
        WHERE EXISTS (SELECT 1 FROM fresh f WHERE f.build_request_id = e.build_request_id AND f.key = e.key)
      ), judged AS (
        SELECT e.build_request_id, e.key, e.dep, e.ord, q.status, q.failure_ref, q.failure_reason
        FROM edges e LEFT JOIN ${queue} q ON q.build_request_id = e.build_request_id AND q.key = e.dep
      ), summary AS (
        SELECT build_request_id, key,
          count(*) FILTER (WHERE status IS NULL OR status NOT IN ('done', 'failed'))::int4 AS pending,
          (array_agg(failure_ref ORDER BY ord) FILTER (WHERE status = 'failed'))[1] AS failed_ref,
          (array_agg(failure_reason ORDER BY ord) FILTER (WHERE status = 'failed'))[1] AS failed_reason
        FROM judged GROUP BY build_request_id, key
      ), inserted AS (
        INSERT INTO ${queue} (build_request_id, key, run, job_name, job_version, status, pending,
          upstream_failed_ref, upstream_failed_reason)
        SELECT f.build_request_id, f.key, f.run, f.job_name, f.job_version,
          CASE WHEN coalesce(s.pending, 0) > 0 THEN 'blocked' ELSE 'ready' END, coalesce(s.pending, 0),
          s.failed_ref, s.failed_reason
        FROM fresh f LEFT JOIN summary s ON s.build_request_id = f.build_request_id AND s.key = f.key
        ORDER BY f.ord
        RETURNING build_request_id
      ), waiting AS (
        INSERT INTO ${deps} (build_request_id, dep, key)
        SELECT build_request_id, dep, key FROM judged WHERE status IS NULL OR status NOT IN ('done', 'failed')
      ), counted AS (
        INSERT INTO ${builds} (build_request_id, unfinished)
        SELECT build_request_id, count(*)::int4 FROM inserted GROUP BY build_request_id
        ON CONFLICT (build_request_id) DO UPDATE SET unfinished = ${builds}.unfinished + excluded.unfinished
      )
      SELECT pg_notify(${channel}, ${QUEUE_PAYLOAD})`
    yield* resilient("enqueue")(
      locked(
        rows.map((r) => r.build),
        statement
      )
    ).pipe(Effect.asVoid)
  })

  type ClaimRow = {
    readonly id: string
    readonly build_request_id: string
    readonly key: string
    readonly run: string
    readonly job_version: string | null
    readonly upstream_failed_ref: string | null
    readonly upstream_failed_reason: string | null
    readonly catalog: ReadonlyArray<string>
    readonly job_runs: ReadonlyArray<string>
  }

  const claim: JobQueue.JobQueueShape["claim"] = Effect.fnUntraced(function* (worker, max, leaseMs, claimer) {
    if (max <= 0) return []
    // Runs queued before versions were recorded match on the job's name alone, as `runsAsPlanned` does.
    const ours =
      claimer === undefined
        ? sql`TRUE`
        : sql`(EXISTS (SELECT 1 FROM unnest(${[...claimer.jobs.keys()]}::text[], ${[...claimer.jobs.values()]}::text[])
              AS j(name, version) WHERE j.name = q.job_name AND (q.job_version IS NULL OR j.version = q.job_version))
            OR greatest(q.ready_since, q.lease_until)
              < (SELECT t FROM now) - ${Math.max(0, Math.floor(claimer.waitMs))} * interval '1 millisecond')`
    // SKIP LOCKED re-checks the condition on rows it locks, so a run another worker claimed meanwhile
    // (now running under a live lease) is skipped rather than claimed twice. The same statement reads
    // what the worker would read next, the catalog rows of each run's outputs and inputs and the
    // run's job runs: two round trips a job fewer.
    const rows = yield* resilient("claim")(
      sql<ClaimRow>`
        WITH now AS (SELECT clock_timestamp() AS t), picked AS (
          SELECT q.build_request_id, q.key FROM ${queue} q
          WHERE (q.status = 'ready' OR (q.status = 'running' AND q.lease_until < (SELECT t FROM now))) AND ${ours}
          ORDER BY q.id LIMIT ${max} FOR UPDATE SKIP LOCKED
        ), claimed AS (
          UPDATE ${queue} q SET status = 'running', worker = ${worker},
            lease_until = (SELECT t FROM now) + ${Math.max(0, Math.floor(leaseMs))} * interval '1 millisecond'
          FROM picked p WHERE q.build_request_id = p.build_request_id AND q.key = p.key
          RETURNING q.id, q.build_request_id, q.key, q.run, q.job_version, q.upstream_failed_ref,
            q.upstream_failed_reason
        )
        SELECT c.id::text AS id, c.build_request_id, c.key, c.run, c.job_version, c.upstream_failed_ref,
          c.upstream_failed_reason,
          ARRAY(SELECT p.data FROM ${partitions} p WHERE p.ref IN (
            SELECT json_array_elements_text(c.run::json->'outputs')
            UNION SELECT json_array_elements_text(c.run::json->'inputs'))) AS catalog,
          ARRAY(SELECT r.data FROM ${jobRuns} r WHERE r.job_run_id IN (
            SELECT c.build_request_id || ':' || c.key || s FROM unnest(${JobQueue.JOB_RUN_ID_SUFFIXES}::text[]) AS s
          )) AS job_runs
        FROM claimed c`
    )
    const claimed: Array<JobQueue.ClaimedRun> = []
    for (const row of [...rows].sort((a, b) => Number(a.id) - Number(b.id))) {
      const stored = decodeRun(row.run)
      if (Either.isLeft(stored)) {
        return yield* new EventLog.StoreError({
          store: "postgres",
          operation: "claim",
          reason:
            `the queued run ${row.key} of build ${row.build_request_id} does not decode ` +
            `(${ParseResult.TreeFormatter.formatErrorSync(stored.left)}); it was changed outside Tessera ` +
            "or written by a newer version"
        })
      }
      const catalog = yield* decodePartitions(row.catalog.map((data) => ({ data })))
      const jobRuns = yield* decodeJobRuns(row.job_runs.map((data) => ({ data })))
      claimed.push({
        buildRequestId: row.build_request_id,
        key: row.key,
        ...stored.right,
        read: { catalog, jobRuns },
        ...(row.job_version === null ? {} : { jobVersion: row.job_version }),
        ...(row.upstream_failed_ref === null
          ? {}
          : { upstreamFailed: { ref: row.upstream_failed_ref, reason: row.upstream_failed_reason ?? "" } })
      })
    }
    return claimed
  }, Spans.hot("PgJobQueue.claim"))

  const extend: JobQueue.JobQueueShape["extend"] = Effect.fn("PgJobQueue.extend")(function* (worker, runs, leaseMs) {
    if (runs.length === 0) return []
    const held = yield* resilient("extend")(
      sql<{ readonly build_request_id: string; readonly key: string }>`
        UPDATE ${queue} q SET lease_until = clock_timestamp() + ${Math.max(0, Math.floor(leaseMs))} * interval '1 millisecond'
        FROM unnest(${runs.map((r) => r.buildRequestId)}::text[], ${runs.map((r) => r.key)}::text[]) AS r(b, k)
        WHERE q.build_request_id = r.b AND q.key = r.k AND q.status = 'running' AND q.worker = ${worker}
        RETURNING q.build_request_id, q.key`
    )
    const kept = new Set(held.map((row) => `${row.build_request_id}\u0000${row.key}`))
    return runs.filter((run) => !kept.has(`${run.buildRequestId}\u0000${run.key}`)).map((run) => run.key)
  })

  const failuresOf = (buildRequestId: string) =>
    Effect.map(
      sql<FailureRow>`
        SELECT key, failure_ref AS ref, failure_reason AS reason FROM ${queue}
        WHERE build_request_id = ${buildRequestId} AND status = 'failed' ORDER BY id`,
      (rows) => rows.map(failureOf)
    )

  const text = {
    queue: SqlText.table(schema, "job_queue"),
    deps: SqlText.table(schema, "job_queue_deps"),
    builds: SqlText.table(schema, "job_queue_builds")
  }

  /**
   * A run's finish as two statements: the one that marks the run finished, releases its dependents
   * and counts the build down; then the build's failures (a statement of its own, so it sees the
   * one just recorded).
   */
  const finishText = ({ worker, run, result }: FinishItem) => {
    const failed = result._tag === "Failed"
    const w = SqlText.quote(worker)
    const b = SqlText.quote(run.buildRequestId)
    const k = SqlText.quote(run.key)
    const ref = failed ? `${SqlText.quote(result.ref)}::text` : "NULL::text"
    const reason = failed ? `${SqlText.quote(result.reason)}::text` : "NULL::text"
    return `WITH mine AS (
        UPDATE ${text.queue} SET status = '${failed ? "failed" : "done"}', worker = NULL, lease_until = NULL,
          finished_by = ${w}, failure_ref = ${ref}, failure_reason = ${reason}
        WHERE build_request_id = ${b} AND key = ${k} AND status = 'running' AND worker = ${w}
        RETURNING key
      ), released AS (
        DELETE FROM ${text.deps} WHERE build_request_id = ${b} AND dep = ${k} AND EXISTS (SELECT 1 FROM mine)
        RETURNING key
      ), unblocked AS (
        UPDATE ${text.queue} q SET pending = q.pending - 1,
          status = CASE WHEN q.pending = 1 AND q.status = 'blocked' THEN 'ready' ELSE q.status END,
          ready_since = CASE WHEN q.pending = 1 AND q.status = 'blocked' THEN clock_timestamp() ELSE q.ready_since END,
          upstream_failed_ref = CASE WHEN ${failed} AND q.upstream_failed_ref IS NULL
            THEN ${ref} ELSE q.upstream_failed_ref END,
          upstream_failed_reason = CASE WHEN ${failed} AND q.upstream_failed_ref IS NULL
            THEN ${reason} ELSE q.upstream_failed_reason END
        FROM released r WHERE q.build_request_id = ${b} AND q.key = r.key
      ), counted AS (
        UPDATE ${text.builds} SET unfinished = unfinished - 1
        WHERE build_request_id = ${b} AND EXISTS (SELECT 1 FROM mine)
        RETURNING unfinished
      )
      SELECT (SELECT count(*) FROM mine)::int4 AS held,
        (SELECT count(*) FROM ${text.queue} WHERE build_request_id = ${b} AND key = ${k}
          AND status IN ('done', 'failed') AND finished_by = ${w})::int4 AS mine,
        coalesce((SELECT unfinished FROM counted),
          (SELECT unfinished FROM ${text.builds} WHERE build_request_id = ${b})) AS unfinished;
      SELECT key, failure_ref AS ref, failure_reason AS reason FROM ${text.queue}
        WHERE build_request_id = ${b} AND status = 'failed' ORDER BY id`
  }

  /**
   * A group of finishes is one message, one round trip: BEGIN with the lock of every build they
   * finish runs of, in key order (so two groups never wait on each other's locks in a cycle); each
   * finish's statements, in order, each seeing the ones before; one wake-up; COMMIT.
   */
  const groupText = (items: ReadonlyArray<FinishItem>) => {
    const keys = [...new Set(items.map((item) => buildLockKey(schema, item.run.buildRequestId)))].sort((a, b) => a - b)
    const opening = Transaction.begin(
      keys.map((key) => `SELECT pg_advisory_xact_lock(${LOCK_QUEUE}, ${key})`),
      context.operationTimeout
    )
    return `${opening};
      ${items.map(finishText).join(";\n")};
      SELECT pg_notify(${SqlText.quote(channel)}, ${SqlText.quote(QUEUE_PAYLOAD)});
      COMMIT`
  }

  interface FinishRow {
    readonly held: number
    readonly mine: number
    readonly unfinished: number | null
  }

  const finishGroupOnce = (items: ReadonlyArray<FinishItem>, retrying: Ref.Ref<boolean>) =>
    Transaction.packed(sql, (connection) =>
      Effect.gen(function* () {
        const results = (yield* connection.executeUnprepared(groupText(items), [], undefined)) as ReadonlyArray<
          ReadonlyArray<unknown>
        >
        // Each finish's two answers, in order, then the wake-up's and COMMIT's.
        const first = results.length - 2 - 2 * items.length
        // A retry after a COMMIT whose answer was lost finds its own finish done: it answers again
        // rather than refusing, so the build's last finisher still learns the build is complete.
        const again = yield* Ref.get(retrying)
        return items.map((_, i): Either.Either<JobQueue.Finished | undefined, EventLog.StoreError> => {
          const [row] = results[first + 2 * i] as ReadonlyArray<FinishRow>
          if (row === undefined || (row.held === 0 && !(again && row.mine > 0))) return Either.right(undefined)
          const failures = (results[first + 2 * i + 1] as ReadonlyArray<FailureRow>).map(failureOf)
          return Either.right({ remaining: row.unfinished ?? 0, failures })
        })
      })
    ).pipe(Effect.onError(() => Ref.set(retrying, true)))

  // Concurrent finishes of this process share one transaction: one round trip and one WAL flush
  // for all of them, where each would otherwise hold its build's lock through a flush of its own.
  const finishes = yield* GroupCommit.make({
    commit: (items: ReadonlyArray<FinishItem>) =>
      Effect.flatMap(Ref.make(false), (retrying) => resilient("finish")(finishGroupOnce(items, retrying))),
    maxWeight: FINISH_GROUP,
    closed: () =>
      new EventLog.StoreError({
        store: STORE,
        operation: "finish",
        reason: "the queue was closed before this finish was committed: nothing of it was written"
      })
  })

  const finish: JobQueue.JobQueueShape["finish"] = Effect.fnUntraced(function* (worker, run, result) {
    return yield* finishes.submit({ worker, run, result })
  }, Spans.hot("PgJobQueue.finish"))

  const release: JobQueue.JobQueueShape["release"] = Effect.fn("PgJobQueue.release")(function* (worker, runs) {
    if (runs.length === 0) return
    yield* resilient("release")(
      sql`
        WITH released AS (
          UPDATE ${queue} q SET status = 'ready', worker = NULL, lease_until = NULL, ready_since = clock_timestamp()
          FROM unnest(${runs.map((r) => r.buildRequestId)}::text[], ${runs.map((r) => r.key)}::text[]) AS r(b, k)
          WHERE q.build_request_id = r.b AND q.key = r.k AND q.status = 'running' AND q.worker = ${worker}
          RETURNING q.key
        )
        SELECT pg_notify(${channel}, ${QUEUE_PAYLOAD}) WHERE EXISTS (SELECT 1 FROM released)`
    ).pipe(Effect.asVoid)
  })

  const progress: JobQueue.JobQueueShape["progress"] = Effect.fn("PgJobQueue.progress")(function* (buildRequestId) {
    const [row] = yield* resilient(
      "progress",
      "read"
    )(sql<{ readonly unfinished: number }>`SELECT unfinished FROM ${builds} WHERE build_request_id = ${buildRequestId}`)
    if (row === undefined) return undefined
    return { remaining: row.unfinished, failures: yield* resilient("progress", "read")(failuresOf(buildRequestId)) }
  })

  // Over the claimable index only: finished rows, however many, are not counted again on each sample.
  const depth: JobQueue.JobQueueShape["depth"] = resilient(
    "depth",
    "read"
  )(
    sql<{ readonly ready: number; readonly running: number }>`
      SELECT count(*) FILTER (WHERE status = 'ready')::int4 AS ready,
        count(*) FILTER (WHERE status = 'running')::int4 AS running
      FROM ${queue} WHERE status IN ('ready', 'running')`
  ).pipe(
    Effect.map(([row]) => ({ ready: row?.ready ?? 0, running: row?.running ?? 0 })),
    Effect.withSpan("PgJobQueue.depth")
  )

  const shape: JobQueue.JobQueueShape = {
    enqueue,
    claim,
    extend,
    finish,
    progress,
    depth,
    release,
    wakeups: context.wakeups
  }
  return shape
})
