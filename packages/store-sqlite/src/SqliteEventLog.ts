/**
 * The SQLite store: the build event log and its three views in one SQLite file, which several
 * processes on one machine may share. Concurrent appends are group-committed: each group is one
 * `BEGIN IMMEDIATE` transaction (`Append`) that decides every append with core's `Batch.decide`
 * over the rows it loads, then writes the events and the changed view rows together.
 */
import type { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import {
  type BuildEvent,
  EventCodec,
  EventFilter,
  EventLog,
  GroupCommit,
  Queries,
  Reading,
  Views,
  Wakeup
} from "@tessera/core"
import { Config, type ConfigError, Duration, Effect, Either, Layer, Metric, Option, Schema, type Scope } from "effect"
import * as Append from "./Append.js"
import * as Database from "./Database.js"
import { type SqliteOpenError, storeError } from "./Errors.js"

export interface SqliteEventLogOptions extends Database.DatabaseOptions {
  /** How often a `tail` looks for events other processes appended (default 200 ms); appends in this process wake it at once. */
  readonly pollInterval?: Duration.DurationInput | undefined
}

export const DEFAULT_POLL_INTERVAL = Duration.millis(200)

/** The most events one group commit writes: concurrent appends beyond it wait for the next transaction. */
const GROUP_EVENTS = 10_000

const appendedEvents = Metric.counter("tessera_sqlite_appended_events", {
  description: "events written to SQLite logs by this process"
})

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

const PartitionJson = Schema.parseJson(Views.PartitionRow)
const JobRunJson = Schema.parseJson(Views.JobRunRow)
const BuildRequestJson = Schema.parseJson(Views.BuildRequestRow)

interface KeyedRow {
  readonly key: string
  readonly data: string
}

export const make = (
  options: SqliteEventLogOptions
): Effect.Effect<EventLog.EventLogShape, SqliteOpenError, Scope.Scope> =>
  Effect.gen(function* () {
    const db = yield* Database.make(options)
    const { sql, filename } = db
    const wakeup = yield* Wakeup.make
    const pollInterval = options.pollInterval ?? DEFAULT_POLL_INTERVAL
    const failed = (operation: string) => storeError(operation, filename)

    const json = (values: ReadonlyArray<string>) => JSON.stringify(values)
    // One JSON parameter whatever the list's length: no bound-parameter limit, and one cached statement per shape.
    const inList = (column: string, values: ReadonlyArray<string>) =>
      values.length === 1
        ? sql`${sql.literal(column)} = ${values[0]!}`
        : sql`${sql.literal(column)} IN (SELECT value FROM json_each(${json(values)}))`
    const prefixRange = (column: string, prefix: string) => {
      const end = prefixEnd(prefix)
      return end === undefined
        ? sql`${sql.literal(column)} >= ${prefix}`
        : sql`(${sql.literal(column)} >= ${prefix} AND ${sql.literal(column)} < ${end})`
    }

    const decodeRows = <A, I>(schema: Schema.Schema<A, I>) => {
      const decode = Schema.decodeUnknownEither(schema)
      return (operation: string) =>
        (rows: ReadonlyArray<KeyedRow>): Effect.Effect<Array<A>, EventLog.StoreError> =>
          Effect.forEach(rows, (row) =>
            Either.match(decode(row.data), {
              onLeft: (error) =>
                Effect.fail(
                  new EventLog.StoreError({
                    store: "sqlite",
                    operation,
                    reason: `the stored row ${row.key} in ${filename} cannot be decoded (${error.message}); the file may be damaged or written by a newer Tessera`
                  })
                ),
              onRight: Effect.succeed
            })
          )
    }
    const decodePartitions = decodeRows(PartitionJson)
    const decodeJobRuns = decodeRows(JobRunJson)
    const decodeBuildRequests = decodeRows(BuildRequestJson)

    const headOf = Effect.map(
      sql<{ head: number | null }>`SELECT max(seq) AS head FROM events`,
      ([row]) => row?.head ?? 0
    )

    const appender = Append.make(db.writer, filename)
    const commitGroup = (items: ReadonlyArray<Append.Item>) =>
      appender.commitGroup(items).pipe(
        db.retryBusy,
        Effect.catchTag("SqlError", (error) => Effect.fail(failed("append")(error)))
      )
    const group = yield* GroupCommit.make({
      commit: commitGroup,
      weight: (item: Append.Item) => Math.max(1, item.events.length),
      maxWeight: GROUP_EVENTS
    })

    const append = Effect.fn("SqliteEventLog.append")(function* (
      events: ReadonlyArray<BuildEvent.BuildEvent>,
      appendOptions?: EventLog.AppendOptions
    ) {
      yield* Effect.annotateCurrentSpan({ store: "sqlite", events: events.length })
      const result = yield* group.submit({ events, expect: appendOptions?.expect })
      if (result.appended.length > 0) {
        yield* Metric.incrementBy(appendedEvents, result.appended.length)
        yield* wakeup.signal
      }
      return result
    })

    const eventConditions = (filter: EventFilter.EventFilter, after: number) => {
      const conditions: Array<Fragment> = [sql`seq > ${after}`]
      if (filter.buildRequestIds !== undefined) conditions.push(inList("build_request_id", filter.buildRequestIds))
      if (filter.kinds !== undefined) conditions.push(inList("kind", filter.kinds))
      if (filter.jobRunIds !== undefined) conditions.push(inList("job_run_id", filter.jobRunIds))
      if (filter.since !== undefined) conditions.push(sql`timestamp >= ${filter.since}`)
      if (filter.until !== undefined) conditions.push(sql`timestamp < ${filter.until}`)
      if (filter.partitionRefs !== undefined || filter.refPrefixes !== undefined) {
        const refs = filter.partitionRefs ?? []
        conditions.push(
          sql.or([
            ...(refs.length > 0 ? [inList("partition_ref", refs)] : []),
            ...(filter.refPrefixes ?? []).map((prefix) => prefixRange("partition_ref", prefix))
          ])
        )
      }
      return sql.and(conditions)
    }

    const read = Effect.fn("SqliteEventLog.read")(function* (
      filter: EventFilter.EventFilter,
      readOptions?: EventLog.ReadOptions
    ) {
      const limit = Queries.limitOf(readOptions?.limit)
      // `isEmpty` also guards the OR below from ever being built over no refs at all.
      if (EventFilter.isEmpty(filter)) return { events: [] }
      const rows = yield* sql<{
        seq: number
        payload: string
        appended_at: number
      }>`SELECT seq, payload, appended_at FROM events
        WHERE ${eventConditions(filter, readOptions?.after ?? 0)} ORDER BY seq LIMIT ${limit + 1}`.pipe(
        db.retryBusy,
        Effect.mapError(failed("read"))
      )
      const events: Array<BuildEvent.LoggedEvent> = []
      for (const row of rows.slice(0, limit)) {
        const event = EventCodec.decode(row.payload, row.seq)
        if (Either.isLeft(event)) return yield* event.left
        events.push({ seq: row.seq, event: event.right, appendedAt: row.appended_at })
      }
      return rows.length > limit ? { events, next: events[limit - 1]!.seq } : { events }
    })

    const pageOf = <A>(rows: ReadonlyArray<A>, limit: number, keyOf: (row: A) => string): Queries.Page<A> =>
      rows.length > limit ? { items: rows.slice(0, limit), next: keyOf(rows[limit - 1]!) } : { items: rows }

    const view = <A>(
      operation: string,
      decode: (operation: string) => (rows: ReadonlyArray<KeyedRow>) => Effect.Effect<Array<A>, EventLog.StoreError>,
      keyOf: (row: A) => string,
      query: (limit: number) => Effect.Effect<ReadonlyArray<KeyedRow>, SqlError>,
      requested: number | undefined
    ) => {
      const limit = Queries.limitOf(requested)
      return query(limit + 1).pipe(
        db.retryBusy,
        Effect.mapError(failed(operation)),
        Effect.flatMap(decode(operation)),
        Effect.map((rows) => pageOf(rows, limit, keyOf))
      )
    }

    const partitions = Effect.fn("SqliteEventLog.partitions")(function* (query: Queries.PartitionQuery) {
      const conditions: Array<Fragment> = []
      if (query.refs !== undefined) conditions.push(inList("ref", query.refs))
      if (query.prefix !== undefined) conditions.push(prefixRange("ref", query.prefix))
      if (query.statuses !== undefined) conditions.push(inList("status", query.statuses))
      if (query.after !== undefined) conditions.push(sql`ref > ${query.after}`)
      return yield* view(
        "partitions",
        decodePartitions,
        (row) => row.ref,
        (limit) =>
          sql<KeyedRow>`SELECT ref AS key, data FROM partitions WHERE ${sql.and(conditions)} ORDER BY ref LIMIT ${limit}`,
        query.limit
      )
    })

    const jobRuns = Effect.fn("SqliteEventLog.jobRuns")(function* (query: Queries.JobRunQuery) {
      const conditions: Array<Fragment> = []
      if (query.jobRunIds !== undefined) conditions.push(inList("job_run_id", query.jobRunIds))
      if (query.buildRequestIds !== undefined) conditions.push(inList("build_request_id", query.buildRequestIds))
      if (query.jobNames !== undefined) conditions.push(inList("job_name", query.jobNames))
      if (query.statuses !== undefined) conditions.push(inList("status", query.statuses))
      if (query.after !== undefined) conditions.push(sql`job_run_id > ${query.after}`)
      return yield* view(
        "jobRuns",
        decodeJobRuns,
        (row) => row.jobRunId,
        (limit) =>
          sql<KeyedRow>`SELECT job_run_id AS key, data FROM job_runs WHERE ${sql.and(conditions)}
            ORDER BY job_run_id LIMIT ${limit}`,
        query.limit
      )
    })

    const buildRequests = Effect.fn("SqliteEventLog.buildRequests")(function* (query: Queries.BuildRequestQuery) {
      const conditions: Array<Fragment> = []
      if (query.buildRequestIds !== undefined) conditions.push(inList("build_request_id", query.buildRequestIds))
      if (query.statuses !== undefined) conditions.push(inList("status", query.statuses))
      if (query.after !== undefined) conditions.push(sql`build_request_id > ${query.after}`)
      return yield* view(
        "buildRequests",
        decodeBuildRequests,
        (row) => row.buildRequestId,
        (limit) =>
          sql<KeyedRow>`SELECT build_request_id AS key, data FROM build_requests WHERE ${sql.and(conditions)}
            ORDER BY build_request_id LIMIT ${limit}`,
        query.limit
      )
    })

    const head = headOf.pipe(db.retryBusy, Effect.mapError(failed("head")), Effect.withSpan("SqliteEventLog.head"))

    return EventLog.EventLog.of({
      store: "sqlite",
      append,
      read,
      stream: (filter, streamOptions) => Reading.stream(read, filter, streamOptions?.after),
      tail: (filter, tailOptions) =>
        Reading.tail(read, filter, { after: tailOptions?.after, head, wakeup, pollInterval }),
      head,
      partitions,
      jobRuns,
      buildRequests
    })
  })

/** The event log in the SQLite file `options.filename` (created with its directories when missing), or `:memory:`. */
export const layer = (options: SqliteEventLogOptions): Layer.Layer<EventLog.EventLog, SqliteOpenError> =>
  Layer.scoped(EventLog.EventLog, make(options))

/**
 * The event log at `TESSERA_SQLITE_PATH` (default `.tessera/events.db`), with `TESSERA_SQLITE_BUSY_TIMEOUT` and
 * `TESSERA_SQLITE_POLL_INTERVAL` as durations ("30 seconds", "200 millis") when set.
 */
export const layerConfig: Layer.Layer<EventLog.EventLog, SqliteOpenError | ConfigError.ConfigError> =
  Layer.unwrapEffect(
    Effect.map(
      Config.all({
        filename: Config.string("TESSERA_SQLITE_PATH").pipe(Config.withDefault(".tessera/events.db")),
        busyTimeout: Config.option(Config.duration("TESSERA_SQLITE_BUSY_TIMEOUT")),
        pollInterval: Config.option(Config.duration("TESSERA_SQLITE_POLL_INTERVAL"))
      }),
      (config) =>
        layer({
          filename: config.filename,
          busyTimeout: Option.getOrUndefined(config.busyTimeout),
          pollInterval: Option.getOrUndefined(config.pollInterval)
        })
    )
  )
