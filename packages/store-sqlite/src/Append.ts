/**
 * The append path: a group of appends decided and written in one `BEGIN IMMEDIATE` transaction on
 * the store's own better-sqlite3 connection, through statements prepared once. Every statement is
 * a synchronous call, so a group costs its rows and one fsync, not a round of Effect and
 * `@effect/sql` bookkeeping per statement.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Batch, BuildEvent, EventCodec, type EventLog, Views } from "@tessera/core"
import type BetterSqlite3 from "better-sqlite3"
import { Clock, Effect, Either, Metric } from "effect"
import { commits, counting, run } from "./Driver.js"
import * as Rows from "./Rows.js"

interface KeyedRow {
  readonly kind: string
  readonly key: string
  readonly data: string | null
}

/**
 * One JSON parameter whatever the list's length: no bound-parameter limit, one statement per shape.
 * The last branch fetches the partitions of the runs the group's heartbeats name (a heartbeat's
 * outputs are its run's, known only from the run's row), so deciding them needs no second query.
 */
const KEYED = `
  SELECT 'event' AS kind, event_id AS key, NULL AS data FROM events
    WHERE event_id IN (SELECT value FROM json_each(?))
  UNION ALL SELECT 'partition', ref, data FROM partitions WHERE ref IN (SELECT value FROM json_each(?))
  UNION ALL SELECT 'job_run', job_run_id, data FROM job_runs WHERE job_run_id IN (SELECT value FROM json_each(?))
  UNION ALL SELECT 'build_request', build_request_id, data FROM build_requests
    WHERE build_request_id IN (SELECT value FROM json_each(?))
  UNION ALL SELECT 'partition', ref, data FROM partitions WHERE ref IN (
    SELECT output.value FROM job_runs, json_each(job_runs.data, '$.outputs') AS output
      WHERE job_runs.job_run_id IN (SELECT value FROM json_each(?)))`

/** The runs the heartbeats of a group name. */
const heartbeatRunsOf = (items: ReadonlyArray<Batch.Append>): ReadonlyArray<string> => {
  const runs = new Set<string>()
  for (const item of items)
    for (const event of item.events) if (event._tag === "JobRunHeartbeat") runs.add(event.jobRunId)
  return [...runs]
}

/**
 * `keys` with the outputs of the heartbeats' runs as the prefetch found those runs: the refs the
 * prefetch's last branch asked for, in the same snapshot, so an absent one is known to be absent.
 */
const withOutputsOf = (keys: Batch.Keys, heartbeats: ReadonlyArray<string>, found: Batch.Prefetched): Batch.Keys => {
  if (heartbeats.length === 0) return keys
  const refs = new Set(keys.refs)
  for (const jobRunId of heartbeats) for (const ref of found.jobRuns.get(jobRunId)?.outputs ?? []) refs.add(ref)
  return { ...keys, refs: [...refs] }
}

const sameInputs = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) =>
  a.length === b.length && a.every((ref, i) => ref === b[i])

/** The statements of the append path, prepared on `db` once, and the group commit over them. */
export const make = (db: BetterSqlite3.Database, filename: string, memos: Rows.Memos) => {
  const { prepare, report } = counting(db)
  const begin = prepare("BEGIN IMMEDIATE")
  const commit = prepare("COMMIT")
  const rollback = prepare("ROLLBACK")
  const headOf = prepare<[], { head: number | null }>("SELECT max(seq) AS head FROM events")
  const keyed = prepare<[string, string, string, string, string], KeyedRow>(KEYED)
  const insertEvent = prepare(
    `INSERT INTO events (seq, appended_at, event_id, timestamp, build_request_id, kind, partition_ref, job_run_id, payload)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
  )
  const upsertPartition = prepare(
    `INSERT INTO partitions (ref, status, data) VALUES (?, ?, ?)
     ON CONFLICT (ref) DO UPDATE SET status = excluded.status, data = excluded.data`
  )
  const upsertJobRun = prepare(
    `INSERT INTO job_runs (job_run_id, build_request_id, job_name, status, data) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (job_run_id) DO UPDATE SET build_request_id = excluded.build_request_id,
       job_name = excluded.job_name, status = excluded.status, data = excluded.data`
  )
  // SQLite rewrites the index entries of every column an UPDATE sets, changed or not: a run whose
  // build and job stay as they were (nearly every write of a run) sets only what moved, and its
  // commit writes two fewer index pages.
  const updateJobRun = prepare("UPDATE job_runs SET status = ?, data = ? WHERE job_run_id = ?")
  // A run's inputs may grow (missing dependencies) or change when a build is planned again: the
  // index always holds exactly the inputs of the row as it now is.
  const forgetInputs = prepare("DELETE FROM job_run_inputs WHERE job_run_id = ?")
  const indexInputs = prepare(
    "INSERT OR IGNORE INTO job_run_inputs (ref, job_run_id) SELECT value, ? FROM json_each(?)"
  )
  const upsertBuildRequest = prepare(
    `INSERT INTO build_requests (build_request_id, status, data) VALUES (?, ?, ?)
     ON CONFLICT (build_request_id) DO UPDATE SET status = excluded.status, data = excluded.data`
  )
  const asPartition = Rows.partition(filename, "append", memos.partitions)
  const asJobRun = Rows.jobRun(filename, "append", memos.jobRuns)
  const asBuildRequest = Rows.buildRequest(filename, "append", memos.buildRequests)
  const none: ReadonlyArray<string> = []

  /**
   * The rows `keys` names, and the partitions of the runs `heartbeats` names, decoded; a damaged row
   * fails the append with the row it found.
   */
  const load = (
    keys: Batch.Keys,
    heartbeats: ReadonlyArray<string> = none
  ): Either.Either<Batch.Prefetched, EventLog.StoreError> => {
    const rows = keyed.all(
      JSON.stringify(keys.eventIds),
      JSON.stringify(keys.refs),
      JSON.stringify(keys.jobRunIds),
      JSON.stringify(keys.buildRequestIds),
      JSON.stringify(heartbeats)
    )
    const existingEventIds = new Set<string>()
    const partitions = new Map<string, Views.PartitionRow>()
    const jobRuns = new Map<string, Views.JobRunRow>()
    const buildRequests = new Map<string, Views.BuildRequestRow>()
    for (const row of rows) {
      if (row.kind === "event") {
        existingEventIds.add(row.key)
        continue
      }
      const data = row.data ?? ""
      if (row.kind === "partition") {
        const decoded = asPartition(row.key, data)
        if (Either.isLeft(decoded)) return Either.left(decoded.left)
        partitions.set(row.key, decoded.right)
      } else if (row.kind === "job_run") {
        const decoded = asJobRun(row.key, data)
        if (Either.isLeft(decoded)) return Either.left(decoded.left)
        jobRuns.set(row.key, decoded.right)
      } else {
        const decoded = asBuildRequest(row.key, data)
        if (Either.isLeft(decoded)) return Either.left(decoded.left)
        buildRequests.set(row.key, decoded.right)
      }
    }
    return Either.right({ existingEventIds, partitions, jobRuns, buildRequests })
  }
  const fetch = (keys: Batch.Keys, heartbeats: ReadonlyArray<string> = none) =>
    Effect.flatten(run(() => load(keys, heartbeats)))

  /** What `Batch.decide` asks beyond the prefetch: a heartbeat's outputs when an earlier append of the group changed its run's. */
  const loader: Batch.Loader<SqlError | EventLog.StoreError> = {
    existingEventIds: (eventIds) =>
      Effect.map(fetch({ eventIds, refs: none, jobRunIds: none, buildRequestIds: none }), (f) => f.existingEventIds),
    partitions: (refs) =>
      Effect.map(fetch({ eventIds: none, refs, jobRunIds: none, buildRequestIds: none }), (f) => f.partitions.values()),
    jobRuns: (jobRunIds) =>
      Effect.map(fetch({ eventIds: none, refs: none, jobRunIds, buildRequestIds: none }), (f) => f.jobRuns.values()),
    buildRequests: (buildRequestIds) =>
      Effect.map(fetch({ eventIds: none, refs: none, jobRunIds: none, buildRequestIds }), (f) =>
        f.buildRequests.values()
      )
  }

  /** `before` holds the rows as this transaction found them, where it read them up front. */
  const write = (batch: Batch.Batch, before: ReadonlyMap<string, Views.JobRunRow>) => {
    for (const { seq, event, appendedAt } of batch.logged) {
      insertEvent.run(
        seq,
        appendedAt,
        event.eventId,
        event.timestamp,
        event.buildRequestId,
        event._tag,
        BuildEvent.partitionRefOf(event) ?? null,
        BuildEvent.jobRunIdOf(event) ?? null,
        EventCodec.encode(event)
      )
    }
    // Each row written is remembered with its text: the next append that touches it reads it back.
    for (const row of batch.partitions) {
      const data = Views.encode(row)
      upsertPartition.run(row.ref, row.status, data)
      memos.partitions.set(row.ref, data, row)
    }
    for (const row of batch.jobRuns) {
      const data = Views.encode(row)
      const found = before.get(row.jobRunId)
      if (found !== undefined && found.buildRequestId === row.buildRequestId && found.jobName === row.jobName) {
        updateJobRun.run(row.status, data, row.jobRunId)
      } else {
        upsertJobRun.run(row.jobRunId, row.buildRequestId, row.jobName, row.status, data)
      }
      memos.jobRuns.set(row.jobRunId, data, row)
      if (found === undefined || !sameInputs(found.inputs, row.inputs)) {
        forgetInputs.run(row.jobRunId)
        if (row.inputs.length > 0) indexInputs.run(row.jobRunId, JSON.stringify(row.inputs))
      }
    }
    for (const row of batch.buildRequests) {
      const data = Views.encode(row)
      upsertBuildRequest.run(row.buildRequestId, row.status, data)
      memos.buildRequests.set(row.buildRequestId, data, row)
    }
  }

  /** The group decided over one prefetch of every row it names, and written as one batch. */
  const decideAndWrite = (items: ReadonlyArray<Batch.Append>) =>
    Effect.gen(function* () {
      const head = headOf.get()?.head ?? 0
      // Leases are judged by the clock at the moment the lock is held, as the in-memory store does.
      const now = yield* Clock.currentTimeMillis
      const named = Batch.keysOfGroup(items)
      const heartbeats = heartbeatRunsOf(items)
      const fetched = yield* fetch(named, heartbeats)
      const keys = withOutputsOf(named, heartbeats, fetched)
      const prefetch = Batch.prefetched(keys, fetched, loader)
      const decided = yield* Batch.decideGroup(items, { head, now, prefetch })
      const { written } = decided
      if (written !== undefined) yield* run(() => write(written, fetched.jobRuns))
      return decided
    })

  /**
   * One write transaction for a group of appends: each is decided against what the earlier ones in
   * the group wrote, and a refused one writes nothing while the others land. Uninterruptible from
   * BEGIN to COMMIT or ROLLBACK, so the connection is never left inside a transaction.
   */
  const commitGroup = (
    items: ReadonlyArray<Batch.Append>
  ): Effect.Effect<Batch.DecidedGroup, SqlError | EventLog.StoreError> =>
    Effect.uninterruptible(
      Effect.flatMap(
        run(() => begin.run()),
        () =>
          decideAndWrite(items).pipe(
            Effect.tap(() => run(() => commit.run())),
            Effect.tap(() => Metric.increment(commits)),
            Effect.ensuring(report),
            Effect.tapErrorCause(() =>
              // SQLite may have rolled back already (after SQLITE_FULL, say), so a failing ROLLBACK is expected.
              Effect.sync(() => {
                if (db.inTransaction) rollback.run()
              })
            )
          )
      )
    )

  return { commitGroup }
}
