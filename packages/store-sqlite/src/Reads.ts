/**
 * The store's reads: events by filter, the three views by query, and the head. Each read is one
 * synchronous statement, so it sees one committed state of the file (WAL gives every statement its
 * snapshot); statements are prepared once per shape. A read goes through the writer's connection,
 * whose page cache the appends keep warm, except while a group commit holds a transaction open on
 * it (another fiber may run between its statements): then through a read-only connection, which
 * never sees a transaction half done.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { type BuildEvent, EventCodec, EventFilter, type EventLog, Queries, type Views } from "@tessera/core"
import type BetterSqlite3 from "better-sqlite3"
import { Effect, Either, Metric } from "effect"
import { run, statementCache, statements } from "./Driver.js"
import * as Rows from "./Rows.js"

/**
 * The least string greater than every string that starts with `prefix`, in SQLite's BINARY order
 * (UTF-8 bytes, which is code point order), so a prefix becomes an index range; none for "".
 */
export const prefixEnd = (prefix: string): string | undefined => {
  const points = Array.from(prefix, (char) => char.codePointAt(0)!)
  while (points.length > 0) {
    let last = points.pop()! + 1
    if (last === 0xd800) last = 0xe000
    if (last <= 0x10ffff) return String.fromCodePoint(...points, last)
  }
  return undefined
}

/** A WHERE clause built from optional conditions, with its parameters in order. */
class Where {
  readonly terms: Array<string> = []
  readonly params: Array<unknown> = []

  add(term: string, ...params: ReadonlyArray<unknown>): this {
    this.terms.push(term)
    this.params.push(...params)
    return this
  }

  /** One JSON parameter whatever the list's length: no bound-parameter limit, one statement per shape. */
  in(column: string, values: ReadonlyArray<string> | undefined): this {
    if (values === undefined) return this
    return values.length === 1
      ? this.add(`${column} = ?`, values[0])
      : this.add(`${column} IN (SELECT value FROM json_each(?))`, JSON.stringify(values))
  }

  prefix(column: string, prefix: string): string {
    const end = prefixEnd(prefix)
    if (end === undefined) {
      this.params.push(prefix)
      return `${column} >= ?`
    }
    this.params.push(prefix, end)
    return `(${column} >= ? AND ${column} < ?)`
  }

  get sql(): string {
    return this.terms.length === 0 ? "1" : this.terms.join(" AND ")
  }
}

/** An `events` row as reads select it. */
export interface EventRow {
  readonly seq: number
  readonly payload: string
  readonly appended_at: number
}

/** Rows of `events` as logged events; a payload that does not decode fails with its seq. */
export const decodeEvents = (
  rows: ReadonlyArray<EventRow>
): Effect.Effect<Array<BuildEvent.LoggedEvent>, EventCodec.EventDecodeError> => {
  const events: Array<BuildEvent.LoggedEvent> = []
  for (const row of rows) {
    const event = EventCodec.decode(row.payload, row.seq)
    if (Either.isLeft(event)) return Effect.fail(event.left)
    events.push({ seq: row.seq, event: event.right, appendedAt: row.appended_at })
  }
  return Effect.succeed(events)
}

interface KeyedRow {
  readonly key: string
  readonly data: string
}

type Failure = SqlError | EventLog.StoreError

export interface Reads {
  readonly head: Effect.Effect<number, SqlError>
  readonly compactedThrough: Effect.Effect<number, SqlError>
  readonly read: (
    filter: EventFilter.EventFilter,
    options?: EventLog.ReadOptions
  ) => Effect.Effect<EventLog.EventPage, Failure | EventCodec.EventDecodeError>
  readonly partitions: (query: Queries.PartitionQuery) => Effect.Effect<Queries.Page<Views.PartitionRow>, Failure>
  readonly jobRuns: (query: Queries.JobRunQuery) => Effect.Effect<Queries.Page<Views.JobRunRow>, Failure>
  readonly buildRequests: (
    query: Queries.BuildRequestQuery
  ) => Effect.Effect<Queries.Page<Views.BuildRequestRow>, Failure>
}

/** A read is one statement. */
const query = <A>(body: () => A) => Effect.tap(run(body), () => Metric.increment(statements))

export const make = (
  connections: { readonly writer: BetterSqlite3.Database; readonly reader: BetterSqlite3.Database },
  filename: string,
  memos: Rows.Memos
): Reads => {
  const { writer, reader } = connections
  const onWriter = statementCache(writer)
  const onReader = statementCache(reader)
  const prepared = (source: string) => (writer.inTransaction ? onReader(source) : onWriter(source))

  const head = query(() => (prepared("SELECT max(seq) AS head FROM events").get() as { head: number | null }).head ?? 0)
  const compactedThrough = query(
    () =>
      (prepared("SELECT through FROM compaction WHERE id = 1").get() as { through: number } | undefined)?.through ?? 0
  )

  const read: Reads["read"] = (filter, options) =>
    Effect.suspend((): ReturnType<Reads["read"]> => {
      const limit = Queries.limitOf(options?.limit)
      // `isEmpty` also guards the OR below from ever being built over no refs at all.
      if (EventFilter.isEmpty(filter)) return Effect.succeed({ events: [] })
      const where = new Where().add("seq > ?", options?.after ?? 0)
      where.in("build_request_id", filter.buildRequestIds)
      where.in("kind", filter.kinds)
      where.in("job_run_id", filter.jobRunIds)
      if (filter.since !== undefined) where.add("timestamp >= ?", filter.since)
      if (filter.until !== undefined) where.add("timestamp < ?", filter.until)
      if (filter.partitionRefs !== undefined || filter.refPrefixes !== undefined) {
        const refs = filter.partitionRefs ?? []
        const alternatives: Array<string> = []
        if (refs.length > 0) {
          alternatives.push("partition_ref IN (SELECT value FROM json_each(?))")
          where.params.push(JSON.stringify(refs))
        }
        for (const prefix of filter.refPrefixes ?? []) alternatives.push(where.prefix("partition_ref", prefix))
        where.terms.push(`(${alternatives.join(" OR ")})`)
      }
      const source = `SELECT seq, payload, appended_at FROM events WHERE ${where.sql} ORDER BY seq LIMIT ?`
      return Effect.flatMap(
        query(() => prepared(source).all(...where.params, limit + 1) as Array<EventRow>),
        (rows) =>
          Effect.map(decodeEvents(rows.slice(0, limit)), (events) =>
            rows.length > limit ? { events, next: events[limit - 1]!.seq } : { events }
          )
      )
    })

  /** A page of one view: rows decoded in key order, and the key to go on from when there are more. */
  const view = <A>(
    table: string,
    key: string,
    decode: Rows.Decode<A>,
    keyOf: (row: A) => string,
    where: Where,
    requested: number | undefined
  ): Effect.Effect<Queries.Page<A>, SqlError | EventLog.StoreError> => {
    const limit = Queries.limitOf(requested)
    const source = `SELECT ${key} AS key, data FROM ${table} WHERE ${where.sql} ORDER BY ${key} LIMIT ?`
    return Effect.flatMap(
      query(() => prepared(source).all(...where.params, limit + 1) as Array<KeyedRow>),
      (rows) => {
        const items: Array<A> = []
        for (const row of rows.slice(0, limit)) {
          const decoded = decode(row.key, row.data)
          if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
          items.push(decoded.right)
        }
        return Effect.succeed(rows.length > limit ? { items, next: keyOf(items[limit - 1]!) } : { items })
      }
    )
  }

  const asPartition = Rows.partition(filename, "partitions", memos.partitions)
  const asJobRun = Rows.jobRun(filename, "jobRuns", memos.jobRuns)
  const asBuildRequest = Rows.buildRequest(filename, "buildRequests", memos.buildRequests)

  const partitions = (query: Queries.PartitionQuery) =>
    Effect.suspend(() => {
      const where = new Where().in("ref", query.refs).in("status", query.statuses)
      if (query.prefix !== undefined) where.terms.push(where.prefix("ref", query.prefix))
      if (query.after !== undefined) where.add("ref > ?", query.after)
      return view("partitions", "ref", asPartition, (row) => row.ref, where, query.limit)
    })

  const jobRuns = (query: Queries.JobRunQuery) =>
    Effect.suspend(() => {
      const where = new Where()
        .in("job_run_id", query.jobRunIds)
        .in("build_request_id", query.buildRequestIds)
        .in("job_name", query.jobNames)
        .in("status", query.statuses)
      if (query.inputs !== undefined) {
        where.add(
          "job_run_id IN (SELECT job_run_id FROM job_run_inputs WHERE ref IN (SELECT value FROM json_each(?)))",
          JSON.stringify(query.inputs)
        )
      }
      if (query.after !== undefined) where.add("job_run_id > ?", query.after)
      return view("job_runs", "job_run_id", asJobRun, (row) => row.jobRunId, where, query.limit)
    })

  const buildRequests = (query: Queries.BuildRequestQuery) =>
    Effect.suspend(() => {
      const where = new Where().in("build_request_id", query.buildRequestIds).in("status", query.statuses)
      if (query.after !== undefined) where.add("build_request_id > ?", query.after)
      return view("build_requests", "build_request_id", asBuildRequest, (row) => row.buildRequestId, where, query.limit)
    })

  return { head, compactedThrough, read, partitions, jobRuns, buildRequests }
}
