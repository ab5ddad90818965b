/**
 * Appending to the log on PostgreSQL: one transaction per group of concurrent appends, serialised by
 * an advisory lock so `seq` is gap-free and commits become visible in seq order. When this process
 * knows every row the group names (`KnownRows`: it wrote or read them, and no other process has
 * appended since), the group is decided from them and sent in one round trip: BEGIN, the lock, the
 * events, the changed view rows, the NOTIFY and COMMIT. Otherwise in two: BEGIN, the lock and a read
 * of the head, the clock and every row the group names in one message, the writes and COMMIT in
 * another.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Batch, BuildEvent, EventCodec, EventLog, GroupCommit, Spans, Views, Wakeup } from "@tessera/core"
import { Effect, type Either, Metric, Option, Ref } from "effect"
import * as KnownRows from "./KnownRows.js"
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

/** Groups decided from the rows this process knew and written in one round trip. */
export const fromKnownRows = Metric.counter("tessera_postgres_appends_from_known_rows", {
  description: "Append groups decided from rows this process knew, written in one round trip"
})

/** Groups decided from known rows that found another process had appended since: decided again after a read. */
export const movedPast = Metric.counter("tessera_postgres_appends_moved_past", {
  description: "Append groups decided from known rows that found the log's head moved by another process"
})

/** Groups decided from known rows that found an event id or a row it guessed new already there. */
export const guessedWrong = Metric.counter("tessera_postgres_appends_guessed_wrong", {
  description: "Append groups decided from known rows that found a row or event id guessed new already there"
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
      const found: Batch.Prefetched = {
        existingEventIds: new Set(rows.flatMap((row) => (row.kind === "event" ? [row.key] : []))),
        partitions: new Map((yield* decodePartitions(byKind("partition"))).map((row) => [row.ref as string, row])),
        jobRuns: new Map((yield* decodeJobRuns(byKind("job_run"))).map((row) => [row.jobRunId, row])),
        buildRequests: new Map(
          (yield* decodeBuildRequests(byKind("build_request"))).map((row) => [row.buildRequestId, row])
        )
      }
      return {
        head: Number(state.key),
        now: Number(state.data),
        prefetch: Batch.prefetched(keys, found, fallback),
        found
      }
    })

  const write = SqlText.table(schema, "write_group")

  /**
   * What a group decided from known rows relies on, checked under the append lock: the log's head is
   * still the one it was decided at, and what it guessed new or absent is.
   */
  const guardOf = (head: number, guessed: Batch.Keys) => ({
    head,
    e: guessed.eventIds,
    p: guessed.refs,
    j: guessed.jobRunIds,
    b: guessed.buildRequestIds
  })

  /**
   * Every new event and changed row, written by one call of the schema's `write_group` with each
   * table's rows in a `json` constant of its own: it goes out in one message with the COMMIT. It
   * writes only where `guard` holds, and answers what it did: 'written', or why not ('moved', 'taken').
   */
  const writeText = (batch: Batch.Batch, guard?: ReturnType<typeof guardOf>) => {
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
    const note = SqlText.quote(Wakeup.encode(Wakeup.summarize(batch.logged)))
    return `SELECT ${write}(${guard === undefined ? "NULL" : SqlText.json(guard)}, ${SqlText.json(rows.e)},
      ${SqlText.json(rows.p)}, ${SqlText.json(rows.j)}, ${SqlText.json(rows.b)}, ${SqlText.quote(channel)}, ${note}) AS outcome`
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

  const known = KnownRows.make()

  /** From here the outcome is in doubt until the answer comes: a retry checks what landed. */
  const inDoubt = (pending: Ref.Ref<Pending | undefined>, decided: Batch.DecidedGroup, written: Batch.Batch) => {
    const first = written.logged[0]!
    return Ref.set(pending, { firstEventId: first.event.eventId, firstSeq: first.seq, results: decided.results })
  }

  /**
   * The group decided from the rows this process knows and sent in one message, or `None` when it
   * must be decided after a read: an append was refused (judged against rows that may be stale), or
   * the guard found that another process appended or a guess was wrong (and then nothing was written).
   */
  const fromKnown = (items: ReadonlyArray<Batch.Append>, keys: Batch.Keys, pending: Ref.Ref<Pending | undefined>) =>
    Effect.gen(function* () {
      const start = known.lookup(keys)
      if (start === undefined) return Option.none()
      const decided = yield* Batch.decideGroup(items, start)
      const { results, written } = decided
      if (written === undefined || results.some((result) => result._tag === "Left")) return Option.none()
      yield* inDoubt(pending, decided, written)
      const answers = yield* Transaction.packed(sql, (connection) =>
        connection.executeUnprepared(
          `${beginAndLock}; ${writeText(written, guardOf(start.head, start.guessed))}; COMMIT`,
          [],
          undefined
        )
      )
      // The answer of the write, before COMMIT's.
      const outcome = (
        answers[answers.length - 2] as ReadonlyArray<{ readonly outcome: "written" | "moved" | "taken" }>
      )[0]!.outcome
      known.outcome(outcome)
      if (outcome !== "written") {
        yield* Ref.set(pending, undefined)
        yield* Metric.increment(outcome === "moved" ? movedPast : guessedWrong)
        return Option.none()
      }
      yield* Metric.increment(fromKnownRows)
      known.wrote(written)
      return Option.some(results)
    })

  /**
   * The group decided after reading the head, the clock and its rows, in one transaction of two
   * round trips whatever the group's size.
   */
  const afterRead = (items: ReadonlyArray<Batch.Append>, keys: Batch.Keys, pending: Ref.Ref<Pending | undefined>) =>
    Transaction.packed(sql, (connection) =>
      Effect.gen(function* () {
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
        const { head, now, prefetch, found } = yield* loaded(keys, lastResult<PrefetchRow>(opened))
        known.read(head, now, keys, found)
        const decided = yield* Batch.decideGroup(items, { head, now, prefetch })
        const { results, written } = decided
        if (written === undefined) {
          yield* commit
          return results
        }
        yield* inDoubt(pending, decided, written)
        yield* connection.executeUnprepared(`${writeText(written)}; COMMIT`, [], undefined)
        known.wrote(written)
        return results
      })
    )

  /** One attempt at a group: every item decided in order against what the earlier ones decided. */
  const groupOnce = (items: ReadonlyArray<Batch.Append>, pending: Ref.Ref<Pending | undefined>) =>
    Effect.gen(function* () {
      const keys = Batch.keysOfGroup(items)
      // A retry of an attempt in doubt reads what landed first.
      const direct = (yield* Ref.get(pending)) === undefined ? yield* fromKnown(items, keys, pending) : Option.none()
      if (Option.isSome(direct)) return direct.value
      return yield* afterRead(items, keys, pending)
    }).pipe(
      // What this process knew may not be what the database holds after a failure.
      Effect.tapErrorCause(() => Effect.sync(known.forget))
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
