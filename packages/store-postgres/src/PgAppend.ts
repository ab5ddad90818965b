/**
 * Appending to the log on PostgreSQL: one transaction per append, serialised by an advisory lock so
 * `seq` is gap-free and commits become visible in seq order; the head, the clock and every row the
 * batch names are read in one round trip, and the events and changed view rows written in another.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Batch, BuildEvent, EventCodec, type EventLog, type Expectation } from "@tessera/core"
import { Effect, Metric, Ref } from "effect"
import type { LogContext } from "./LogContext.js"
import { LOCK_APPEND } from "./Migrations.js"
import {
  decodeBuildRequests,
  decodeJobRuns,
  decodePartitions,
  encodeBuildRequest,
  encodeJobRun,
  encodePartition
} from "./Rows.js"
import { STORE } from "./SqlErrors.js"
import * as Transaction from "./Transaction.js"

/** Events appended to the log by this process. */
export const appended = Metric.counter("tessera_postgres_appended_events", {
  description: "Events appended to the PostgreSQL log by this process"
})

/** What an append attempt wrote before it asked to commit: if the commit's answer is lost, the retry checks it. */
interface Pending {
  readonly firstEventId: string
  readonly firstSeq: number
  readonly result: EventLog.AppendResult
}

/** The append of the log in `context`. */
export const make = (context: LogContext): EventLog.EventLogShape["append"] => {
  const { sql, schema, channel, resilient, operationTimeout } = context
  const { events, partitions, jobRuns, buildRequests } = context.tables

  const selectPartitions = (refs: ReadonlyArray<string>) =>
    Effect.flatMap(
      sql<{ readonly data: string }>`SELECT data FROM ${partitions} WHERE ref = ANY(${refs})`,
      decodePartitions
    )
  const selectJobRuns = (ids: ReadonlyArray<string>) =>
    Effect.flatMap(
      sql<{ readonly data: string }>`SELECT data FROM ${jobRuns} WHERE job_run_id = ANY(${ids})`,
      decodeJobRuns
    )
  const selectBuildRequests = (ids: ReadonlyArray<string>) =>
    Effect.flatMap(
      sql<{ readonly data: string }>`SELECT data FROM ${buildRequests} WHERE build_request_id = ANY(${ids})`,
      decodeBuildRequests
    )

  /**
   * The log's head, the database's clock, and every id and row the batch's events and expectations
   * name, in one round trip. `Batch.decide` then reads from these; only a heartbeat's outputs, known
   * once its run is loaded, may still need a query of their own.
   */
  const fallback: Batch.Loader<SqlError | EventLog.StoreError> = {
    existingEventIds: (wanted) =>
      Effect.map(
        sql<{ readonly event_id: string }>`SELECT event_id FROM ${events} WHERE event_id = ANY(${wanted})`,
        (found) => new Set(found.map((row) => row.event_id))
      ),
    partitions: selectPartitions,
    jobRuns: selectJobRuns,
    buildRequests: selectBuildRequests
  }

  const prefetch = (batch: ReadonlyArray<BuildEvent.BuildEvent>, expect: ReadonlyArray<Expectation.Expectation>) =>
    Effect.gen(function* () {
      const keys = Batch.keysOf(batch, expect)
      // Leases are judged by the database's clock, the one clock every process shares.
      const rows = yield* sql<{ readonly kind: string; readonly key: string; readonly data: string | null }>`
      SELECT 'head' AS kind, coalesce(max(seq), 0)::text AS key,
        (extract(epoch FROM clock_timestamp()) * 1000)::int8::text AS data FROM ${events}
      UNION ALL SELECT 'event', event_id, NULL FROM ${events} WHERE event_id = ANY(${keys.eventIds})
      UNION ALL SELECT 'partition', ref::text, data FROM ${partitions} WHERE ref = ANY(${keys.refs})
      UNION ALL SELECT 'job_run', job_run_id::text, data FROM ${jobRuns} WHERE job_run_id = ANY(${keys.jobRunIds})
      UNION ALL SELECT 'build_request', build_request_id::text, data FROM ${buildRequests}
        WHERE build_request_id = ANY(${keys.buildRequestIds})`
      const byKind = (kind: string) => rows.flatMap((row) => (row.kind === kind ? [{ data: row.data ?? "" }] : []))
      const state = rows.find((row) => row.kind === "head")!
      const loader = Batch.prefetched(
        keys,
        {
          existingEventIds: new Set(rows.flatMap((row) => (row.kind === "event" ? [row.key] : []))),
          partitions: new Map((yield* decodePartitions(byKind("partition"))).map((row) => [row.ref as string, row])),
          jobRuns: new Map((yield* decodeJobRuns(byKind("job_run"))).map((row) => [row.jobRunId, row])),
          buildRequests: new Map(
            (yield* decodeBuildRequests(byKind("build_request"))).map((row) => [row.buildRequestId, row])
          )
        },
        fallback
      )
      return { head: Number(state.key), now: Number(state.data), loader }
    })

  /** Every new event and changed row in one statement, with unnest over array parameters: one round trip. */
  const write = (batch: Batch.Batch, head: number) => {
    const n = batch.logged.length
    const seqs = new Array<number>(n)
    const ids = new Array<string>(n)
    const timestamps = new Array<number>(n)
    const builds = new Array<string>(n)
    const kinds = new Array<string>(n)
    const refs = new Array<string | null>(n)
    const runs = new Array<string | null>(n)
    const payloads = new Array<string>(n)
    const appendedAt = new Array<number>(n)
    for (let i = 0; i < n; i++) {
      const { seq, event } = batch.logged[i]!
      appendedAt[i] = batch.logged[i]!.appendedAt
      seqs[i] = seq
      ids[i] = event.eventId
      timestamps[i] = event.timestamp
      builds[i] = event.buildRequestId
      kinds[i] = event._tag
      refs[i] = BuildEvent.partitionRefOf(event) ?? null
      runs[i] = BuildEvent.jobRunIdOf(event) ?? null
      payloads[i] = EventCodec.encode(event)
    }
    const p = batch.partitions
    const j = batch.jobRuns
    const b = batch.buildRequests
    return sql`WITH e AS (
      INSERT INTO ${events} (seq, event_id, "timestamp", build_request_id, kind, partition_ref, job_run_id, payload,
        appended_at)
      SELECT * FROM unnest(${seqs}::int8[], ${ids}::text[], ${timestamps}::int8[], ${builds}::text[],
        ${kinds}::text[], ${refs}::text[], ${runs}::text[], ${payloads}::text[], ${appendedAt}::int8[])
    ), p AS (
      INSERT INTO ${partitions} (ref, status, data)
      SELECT * FROM unnest(${p.map((row) => row.ref)}::text[], ${p.map((row) => row.status)}::text[],
        ${p.map((row) => encodePartition(row))}::text[])
      ON CONFLICT (ref) DO UPDATE SET status = excluded.status, data = excluded.data
    ), j AS (
      INSERT INTO ${jobRuns} (job_run_id, build_request_id, job_name, status, data, inputs)
      SELECT id, build, name, status, data, ARRAY(SELECT jsonb_array_elements_text(inputs::jsonb))
      FROM unnest(${j.map((row) => row.jobRunId)}::text[], ${j.map((row) => row.buildRequestId)}::text[],
        ${j.map((row) => row.jobName)}::text[], ${j.map((row) => row.status)}::text[], ${j.map((row) => encodeJobRun(row))}::text[],
        ${j.map((row) => JSON.stringify(row.inputs))}::text[]) AS run(id, build, name, status, data, inputs)
      ON CONFLICT (job_run_id) DO UPDATE SET build_request_id = excluded.build_request_id,
        job_name = excluded.job_name, status = excluded.status, data = excluded.data, inputs = excluded.inputs
    ), b AS (
      INSERT INTO ${buildRequests} (build_request_id, status, data)
      SELECT * FROM unnest(${b.map((row) => row.buildRequestId)}::text[], ${b.map((row) => row.status)}::text[],
        ${b.map((row) => encodeBuildRequest(row))}::text[])
      ON CONFLICT (build_request_id) DO UPDATE SET status = excluded.status, data = excluded.data
    )
    SELECT pg_notify(${channel}, ${String(head)})`
  }

  // The schema name is a checked identifier, so it can sit in the SQL text: BEGIN and the lock then
  // go out as one simple-protocol message. One appender at a time per log, until commit: seq stays
  // gap-free, and since the lock is released only after the commit is visible, no reader ever sees
  // seq n+1 without seq n. A COMMIT on a dead connection is an error to retry, not a defect.
  const beginAndLock = Transaction.begin(
    [`SELECT pg_advisory_xact_lock(${LOCK_APPEND}, hashtext('${schema}'))`],
    operationTimeout
  )

  const appendOnce = (
    batch: ReadonlyArray<BuildEvent.BuildEvent>,
    expect: ReadonlyArray<Expectation.Expectation>,
    pending: Ref.Ref<Pending | undefined>
  ) =>
    Transaction.run(
      sql,
      beginAndLock,
      Effect.gen(function* () {
        const earlier = yield* Ref.get(pending)
        if (earlier !== undefined) {
          const found = yield* sql<{ readonly seq: string }>`SELECT seq FROM ${events}
          WHERE event_id = ${earlier.firstEventId}`
          if (found.length > 0 && Number(found[0]!.seq) === earlier.firstSeq) return earlier.result
          yield* Ref.set(pending, undefined)
        }
        const { head, now, loader } = yield* prefetch(batch, expect)
        const decided = yield* Batch.decide(loader, batch, { firstSeq: head + 1, now, expect })
        if (decided.logged.length === 0) return { appended: [], duplicates: decided.duplicates, head }
        const last = head + decided.logged.length
        yield* write(decided, last)
        const result: EventLog.AppendResult = { appended: decided.logged, duplicates: decided.duplicates, head: last }
        return result
      }),
      (result) =>
        result.appended.length === 0
          ? Effect.void
          : Ref.set(pending, {
              firstEventId: result.appended[0]!.event.eventId,
              firstSeq: result.appended[0]!.seq,
              result
            })
    )

  const append = Effect.fn("PgEventLog.append")(function* (
    batch: ReadonlyArray<BuildEvent.BuildEvent>,
    options?: EventLog.AppendOptions
  ) {
    yield* Effect.annotateCurrentSpan({ store: STORE, events: batch.length })
    const pending = yield* Ref.make<Pending | undefined>(undefined)
    const result = yield* resilient("append")(appendOnce(batch, options?.expect ?? [], pending))
    yield* Metric.incrementBy(appended, result.appended.length)
    return result
  })

  return append
}
