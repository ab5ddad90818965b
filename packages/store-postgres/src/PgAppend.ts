/**
 * Appending to the log on PostgreSQL: one transaction per group of concurrent appends, serialised by
 * an advisory lock so `seq` is gap-free and commits become visible in seq order, in two round trips:
 * BEGIN, the lock and a read of the head, the clock and every row the group names in one message,
 * then the events, the changed view rows, the NOTIFY and COMMIT in another.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Batch, BuildEvent, EventCodec, EventLog, GroupCommit, Spans, Views, Wakeup } from "@tessera/core"
import { Effect, type Either, Metric, Ref } from "effect"
import type { LogContext } from "./LogContext.js"
import { LOCK_APPEND } from "./Migrations.js"
import { decodeBuildRequests, decodeJobRuns, decodePartitions } from "./Rows.js"
import { STORE } from "./SqlErrors.js"
import * as SqlText from "./SqlText.js"
import * as Transaction from "./Transaction.js"

/** Events appended to the log by this process. */
export const appended = Metric.counter("tessera_postgres_appended_events", {
  description: "Events appended to the PostgreSQL log by this process"
})

/** What a group's attempt wrote before it asked to commit: if the commit's answer is lost, the retry checks it. */
interface Pending {
  readonly firstEventId: string
  readonly firstSeq: number
  readonly results: Batch.DecidedGroup["results"]
}

/**
 * The most events one group commits. A group's rows travel as json constants in its statements, so a
 * bound keeps a group's messages a size the server parses quickly; a bigger append is committed alone.
 */
const GROUP_EVENTS = 5_000

/**
 * The append of the log in `context`. Concurrent appends of this process are committed together,
 * a group per transaction: one lock, one WAL flush and two round trips for all of them.
 */
export const make = Effect.fn("PgAppend.make")(function* (context: LogContext) {
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

  const text = {
    events: SqlText.table(schema, "events"),
    partitions: SqlText.table(schema, "partitions"),
    jobRuns: SqlText.table(schema, "job_runs"),
    buildRequests: SqlText.table(schema, "build_requests")
  }
  // Each list a constant of its own: `->` on one `json` value for all of them parsed it once per list.
  const keyList = (keys: ReadonlyArray<string>) => `ARRAY(SELECT json_array_elements_text(${SqlText.json(keys)}))`

  /**
   * The log's head, the database's clock, and every id and row the batch's events and expectations
   * name, as one statement in SQL text: it goes out in the message that begins the transaction.
   * `Batch.decide` then reads from these; only a heartbeat's outputs, known once its run is loaded,
   * may still need a query of their own. Leases are judged by the database's clock, the one clock
   * every process shares.
   */
  const prefetchText = (keys: Batch.Keys) => `SELECT 'head' AS kind, coalesce(max(seq), 0)::text AS key,
      (extract(epoch FROM clock_timestamp()) * 1000)::int8::text AS data FROM ${text.events}
    UNION ALL SELECT 'event', event_id, NULL FROM ${text.events} WHERE event_id = ANY(${keyList(keys.eventIds)})
    UNION ALL SELECT 'partition', ref::text, data FROM ${text.partitions} WHERE ref = ANY(${keyList(keys.refs)})
    UNION ALL SELECT 'job_run', job_run_id::text, data FROM ${text.jobRuns} WHERE job_run_id = ANY(${keyList(keys.jobRunIds)})
    UNION ALL SELECT 'build_request', build_request_id::text, data FROM ${text.buildRequests}
      WHERE build_request_id = ANY(${keyList(keys.buildRequestIds)})`

  type PrefetchRow = { readonly kind: string; readonly key: string; readonly data: string | null }

  const loaded = (keys: Batch.Keys, rows: ReadonlyArray<PrefetchRow>) =>
    Effect.gen(function* () {
      const byKind = (kind: string) => rows.flatMap((row) => (row.kind === kind ? [{ data: row.data ?? "" }] : []))
      const state = rows.find((row) => row.kind === "head")!
      const prefetch = Batch.prefetched(
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
      return { head: Number(state.key), now: Number(state.data), prefetch }
    })

  /**
   * Every new event and changed row in one statement, as SQL text with each table's rows in a `json`
   * constant of its own: it goes out in one message with the COMMIT.
   */
  const writeText = (batch: Batch.Batch) => {
    // A payload goes in as a string of JSON: as a JSON value, the `\u0000` escapes a message may
    // hold would be refused by json_to_recordset.
    const rows = {
      e: batch.logged.map(({ seq, event, appendedAt }) => ({
        s: seq,
        i: event.eventId,
        t: event.timestamp,
        b: event.buildRequestId,
        k: event._tag,
        r: BuildEvent.partitionRefOf(event) ?? null,
        j: BuildEvent.jobRunIdOf(event) ?? null,
        p: EventCodec.encode(event),
        a: appendedAt
      })),
      p: batch.partitions.map((row) => ({ r: row.ref, s: row.status, d: Views.encode(row) })),
      j: batch.jobRuns.map((row) => ({
        i: row.jobRunId,
        b: row.buildRequestId,
        n: row.jobName,
        s: row.status,
        d: Views.encode(row),
        in: row.inputs
      })),
      b: batch.buildRequests.map((row) => ({ i: row.buildRequestId, s: row.status, d: Views.encode(row) }))
    }
    // One constant per table: `->` on one `json` value for all four parsed the whole text four times.
    return `WITH e AS (
      INSERT INTO ${text.events} (seq, event_id, "timestamp", build_request_id, kind, partition_ref, job_run_id,
        payload, appended_at)
      SELECT s, i, t, b, k, r, x.j, p, a FROM json_to_recordset(${SqlText.json(rows.e)})
        AS x(s int8, i text, t int8, b text, k text, r text, j text, p text, a int8)
    ), p AS (
      INSERT INTO ${text.partitions} (ref, status, data)
      SELECT r, s, x.d FROM json_to_recordset(${SqlText.json(rows.p)}) AS x(r text, s text, d text)
      ON CONFLICT (ref) DO UPDATE SET status = excluded.status, data = excluded.data
    ), r AS (
      INSERT INTO ${text.jobRuns} (job_run_id, build_request_id, job_name, status, data, inputs)
      SELECT i, b, n, s, x.d, ARRAY(SELECT json_array_elements_text(x.in)) FROM
        json_to_recordset(${SqlText.json(rows.j)}) AS x(i text, b text, n text, s text, d text, "in" json)
      ON CONFLICT (job_run_id) DO UPDATE SET build_request_id = excluded.build_request_id,
        job_name = excluded.job_name, status = excluded.status, data = excluded.data, inputs = excluded.inputs
    ), b AS (
      INSERT INTO ${text.buildRequests} (build_request_id, status, data)
      SELECT i, s, x.d FROM json_to_recordset(${SqlText.json(rows.b)}) AS x(i text, s text, d text)
      ON CONFLICT (build_request_id) DO UPDATE SET status = excluded.status, data = excluded.data
    )
    SELECT pg_notify(${SqlText.quote(channel)}, ${SqlText.quote(Wakeup.encode(Wakeup.summarize(batch.logged)))})`
  }

  // One appender at a time per log, until commit: seq stays gap-free, and since the lock is released
  // only after the commit is visible, no reader ever sees seq n+1 without seq n. BEGIN, the bounds,
  // the lock and the prefetch go out as one message, the rows and COMMIT as another: two round trips.
  // A COMMIT on a dead connection is an error to retry, not a defect.
  const beginAndLock = Transaction.begin(
    [`SELECT pg_advisory_xact_lock(${LOCK_APPEND}, hashtext('${schema}'))`],
    operationTimeout
  )

  /** The rows of the last statement of a multi-statement message. */
  const lastResult = <A>(results: ReadonlyArray<unknown>): ReadonlyArray<A> =>
    (results[results.length - 1] ?? []) as ReadonlyArray<A>

  /**
   * One attempt at a group: every item decided in order against what the earlier ones decided, in
   * one transaction of two round trips whatever the group's size.
   */
  const groupOnce = (items: ReadonlyArray<Batch.Append>, pending: Ref.Ref<Pending | undefined>) =>
    Transaction.packed(sql, (connection) =>
      Effect.gen(function* () {
        const keys = Batch.keysOfGroup(items)
        const opened = yield* connection.executeUnprepared(`${beginAndLock}; ${prefetchText(keys)}`, [], undefined)
        const commit = connection.executeUnprepared("COMMIT", [], undefined)
        const earlier = yield* Ref.get(pending)
        if (earlier !== undefined) {
          const found = yield* sql<{ readonly seq: string }>`SELECT seq FROM ${events}
          WHERE event_id = ${earlier.firstEventId}`
          if (found.length > 0 && Number(found[0]!.seq) === earlier.firstSeq) {
            yield* commit
            return earlier.results
          }
          yield* Ref.set(pending, undefined)
        }
        const { head, now, prefetch } = yield* loaded(keys, lastResult<PrefetchRow>(opened))
        const { results, written } = yield* Batch.decideGroup(items, { head, now, prefetch })
        if (written === undefined) {
          yield* commit
          return results
        }
        const first = written.logged[0]!
        // From here the outcome is in doubt until the answer comes: a retry checks what landed.
        yield* Ref.set(pending, { firstEventId: first.event.eventId, firstSeq: first.seq, results })
        yield* connection.executeUnprepared(`${writeText(written)}; COMMIT`, [], undefined)
        return results
      })
    )

  const commitGroup = (
    items: ReadonlyArray<Batch.Append>
  ): Effect.Effect<ReadonlyArray<Either.Either<EventLog.AppendResult, EventLog.AppendError>>, EventLog.StoreError> =>
    Effect.flatMap(Ref.make<Pending | undefined>(undefined), (pending) =>
      resilient("append")(groupOnce(items, pending))
    )
  const group = yield* GroupCommit.make({
    commit: commitGroup,
    weight: (item: Batch.Append) => Math.max(1, item.events.length),
    maxWeight: GROUP_EVENTS,
    closed: () =>
      new EventLog.StoreError({
        store: STORE,
        operation: "append",
        reason: "the log was closed before this append was committed: nothing of it was written"
      })
  })

  const append = Effect.fnUntraced(
    function* (batch: ReadonlyArray<BuildEvent.BuildEvent>, options?: EventLog.AppendOptions) {
      const result = yield* group.submit({ events: batch, expect: options?.expect })
      yield* Metric.incrementBy(appended, result.appended.length)
      return result
    },
    (effect, batch) => Spans.hot("PgEventLog.append", { attributes: { store: STORE, events: batch.length } })(effect)
  )

  return append
})
