/**
 * The SQLite store: the build event log and its three views in one SQLite file, which several
 * processes on one machine may share. Concurrent appends are group-committed: each group is one
 * `BEGIN IMMEDIATE` transaction (`Append`) that decides every append with core's `Batch.decide`
 * over the rows it loads, then writes the events and the changed view rows together.
 */
import { SqlError } from "@effect/sql/SqlError"
import { type Batch, type BuildEvent, EventLog, GroupCommit, Reading, Spans, Wakeup } from "@tessera/core"
import { Config, type ConfigError, Duration, Effect, type Either, Layer, Metric, Option, type Scope } from "effect"
import * as Append from "./Append.js"
import * as Database from "./Database.js"
import { type SqliteOpenError, storeError } from "./Errors.js"
import * as Reads from "./Reads.js"
import * as Rows from "./Rows.js"

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

/** Kept here too: callers bound prefix scans with it. */
export const prefixEnd = Reads.prefixEnd

export { commits, statements } from "./Driver.js"

export const make = (
  options: SqliteEventLogOptions
): Effect.Effect<EventLog.EventLogShape, SqliteOpenError, Scope.Scope> =>
  Effect.gen(function* () {
    const db = yield* Database.make(options)
    const { filename } = db
    const wakeup = yield* Wakeup.make
    const pollInterval = options.pollInterval ?? DEFAULT_POLL_INTERVAL
    const memos = Rows.memos()
    const reads = Reads.make(db, filename, memos)
    /** A read that met a lock (a checkpoint, a recovery) waits like a write; its failure names the file and what to do. */
    const reading =
      (operation: string) =>
      <A, E>(self: Effect.Effect<A, E | SqlError>) =>
        self.pipe(
          db.retryBusy,
          Effect.catchIf(
            (error): error is SqlError => error instanceof SqlError,
            (error) => Effect.fail(storeError(operation, filename)(error))
          )
        )

    const appender = Append.make(db.writer, filename, memos)
    // Counted and announced once per group, after its COMMIT: what it wrote is visible from then on.
    const commitGroup = (
      items: ReadonlyArray<Batch.Append>
    ): Effect.Effect<ReadonlyArray<Either.Either<EventLog.AppendResult, EventLog.AppendError>>, EventLog.StoreError> =>
      appender.commitGroup(items).pipe(
        db.retryBusy,
        Effect.catchTag("SqlError", (error) => Effect.fail(storeError("append", filename)(error))),
        Effect.tap(({ written }) =>
          written === undefined
            ? Effect.void
            : Effect.zipRight(
                Metric.incrementBy(appendedEvents, written.logged.length),
                wakeup.appended(Wakeup.summarize(written.logged))
              )
        ),
        Effect.map(({ results }) => results)
      )
    const group = yield* GroupCommit.make({
      commit: commitGroup,
      weight: (item: Batch.Append) => Math.max(1, item.events.length),
      maxWeight: GROUP_EVENTS,
      closed: () =>
        new EventLog.StoreError({
          store: "sqlite",
          operation: "append",
          reason: `the log at ${filename} was closed before this append was committed: nothing of it was written`
        })
    })

    const append = Effect.fnUntraced(
      function* (events: ReadonlyArray<BuildEvent.BuildEvent>, appendOptions?: EventLog.AppendOptions) {
        return yield* group.submit({ events, expect: appendOptions?.expect })
      },
      (effect, events) =>
        Spans.hot("SqliteEventLog.append", { attributes: { store: "sqlite", events: events.length } })(effect)
    )

    const read: EventLog.EventLogShape["read"] = (filter, readOptions) =>
      reading("read")(reads.read(filter, readOptions)).pipe(Spans.hot("SqliteEventLog.read"))
    const head = reading("head")(reads.head).pipe(Spans.hot("SqliteEventLog.head"))

    return EventLog.EventLog.of({
      store: "sqlite",
      append,
      read,
      stream: (filter, streamOptions) => Reading.stream(read, filter, streamOptions?.after),
      tail: (filter, tailOptions) =>
        Reading.tail(read, filter, { after: tailOptions?.after, head, wakeup, pollInterval }),
      head,
      compactedThrough: reading("compactedThrough")(reads.compactedThrough).pipe(
        Effect.withSpan("SqliteEventLog.compactedThrough")
      ),
      partitions: (query) =>
        reading("partitions")(reads.partitions(query)).pipe(Spans.hot("SqliteEventLog.partitions")),
      jobRuns: (query) => reading("jobRuns")(reads.jobRuns(query)).pipe(Spans.hot("SqliteEventLog.jobRuns")),
      buildRequests: (query) =>
        reading("buildRequests")(reads.buildRequests(query)).pipe(Spans.hot("SqliteEventLog.buildRequests"))
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
