/**
 * The build event log on PostgreSQL: many processes on many machines share one log. Its parts live
 * in their own modules: the append (`PgAppend`), the reads (`PgReads`), the LISTEN connection
 * (`Listener`), retries and bounds (`Resilience`), and the distributed workers' queue beside it
 * (`PgJobQueue`); this module puts them together over one client and one schema.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { type Compaction, EventLog, type JobQueue, Reading, Wakeup } from "@tessera/core"
import { Config, type ConfigError, Duration, Effect, Layer, RcRef, Stream } from "effect"
import { type ConnectionOptions, clientLayer } from "./Connection.js"
import { listen } from "./Listener.js"
import type { LogContext } from "./LogContext.js"
import { migrate, type SchemaTooNew, schemaNameProblem } from "./Migrations.js"
import * as PgAppend from "./PgAppend.js"
import * as PgCompactor from "./PgCompactor.js"
import * as PgJobQueue from "./PgJobQueue.js"
import * as PgReads from "./PgReads.js"
import * as Resilience from "./Resilience.js"
import { STORE } from "./SqlErrors.js"

export const DEFAULT_SCHEMA = "tessera"

/** How the log behaves on top of a connection. */
export interface LogOptions {
  /** The PostgreSQL schema holding the log's tables (default "tessera"): one log per schema. */
  readonly schema?: string | undefined
  /** How often a tail looks for appends when no notification woke it (default 1 second). */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** How long an operation retries a lost connection before failing with `StoreError` (default 10 seconds). */
  readonly retryFor?: Duration.DurationInput | undefined
  /** How often the LISTEN connection proves it still hears notifications (default 5 seconds). */
  readonly listenCheckInterval?: Duration.DurationInput | undefined
  /**
   * How long one attempt of an operation may take, lock waits included, before it fails with a
   * `StoreError` naming the operation (default 60 seconds). Enforced by the server inside
   * transactions (`statement_timeout`, `lock_timeout`) and by the client around every read.
   */
  readonly operationTimeout?: Duration.DurationInput | undefined
}

export interface Options extends ConnectionOptions, LogOptions {}

/** The log, the distributed workers' queue and the log's compactor, of one schema. */
export interface Store {
  readonly log: EventLog.EventLogShape
  readonly queue: JobQueue.JobQueueShape
  readonly compactor: Compaction.CompactorShape
}

/**
 * The log in `options.schema` and the distributed workers' queue beside it, over the `PgClient` in
 * context, migrated first. They share the client, the retries and the LISTEN connection.
 */
export const makeStore = Effect.fn("PgEventLog.makeStore")(function* (options: LogOptions = {}) {
  const sql = yield* PgClient.PgClient
  const schema = options.schema ?? DEFAULT_SCHEMA
  const retryFor = Duration.decode(options.retryFor ?? "10 seconds")
  const pollInterval = options.pollInterval ?? "1 second"
  const checkInterval = Duration.decode(options.listenCheckInterval ?? "5 seconds")
  const operationTimeout = Duration.decode(options.operationTimeout ?? "60 seconds")
  const badSchema = schemaNameProblem(schema)
  if (badSchema !== undefined) {
    return yield* new EventLog.StoreError({ store: STORE, operation: "open", reason: badSchema })
  }
  const resilient = Resilience.make({ retryFor, operationTimeout })

  yield* migrate(schema).pipe(
    resilient("migrate"),
    Effect.catchTag("MigrationError", (error) =>
      Effect.fail(new EventLog.StoreError({ store: STORE, operation: "migrate", reason: error.message, cause: error }))
    ),
    Effect.catchAllDefect((defect) =>
      Effect.fail(
        new EventLog.StoreError({
          store: STORE,
          operation: "migrate",
          reason: `a migration of schema "${schema}" failed; nothing of it was kept`,
          cause: defect
        })
      )
    )
  )

  const context: LogContext = {
    sql,
    schema,
    tables: {
      events: sql(`${schema}.events`),
      partitions: sql(`${schema}.partitions`),
      jobRuns: sql(`${schema}.job_runs`),
      buildRequests: sql(`${schema}.build_requests`)
    },
    channel: `tessera_${schema}`,
    resilient,
    operationTimeout
  }
  const append = yield* PgAppend.make(context)
  const { read, head, compactedThrough, partitions, jobRuns, buildRequests } = PgReads.make(context)

  const wakeup = yield* Wakeup.make
  const queueWakeup = yield* Wakeup.make
  const listener = yield* RcRef.make({
    acquire: Effect.forkScoped(listen(sql, context.channel, { log: wakeup, queue: queueWakeup }, checkInterval)),
    // Tails come and go (a scheduler waits on one partition after another): keep LISTEN up between them.
    idleTimeToLive: "10 seconds"
  })

  const shape: EventLog.EventLogShape = {
    store: STORE,
    append,
    read,
    stream: (filter, options) => Reading.stream(read, filter, options?.after),
    tail: (filter, options) =>
      Stream.unwrapScoped(
        Effect.as(
          RcRef.get(listener),
          Reading.tail(read, filter, { after: options?.after, head, wakeup, pollInterval })
        )
      ),
    head,
    compactedThrough,
    partitions,
    jobRuns,
    buildRequests
  }
  const queue = yield* PgJobQueue.make({
    schema,
    channel: context.channel,
    resilient,
    operationTimeout,
    // The log's LISTEN connection serves the queue too: one per process, however many tails and workers.
    wakeups: Stream.unwrapScoped(Effect.as(RcRef.get(listener), Stream.repeatEffect(Effect.flatten(queueWakeup.next))))
  })
  const store: Store = { log: shape, queue, compactor: PgCompactor.make(context) }
  return store
})

/**
 * The log in `options.schema` over the `PgClient` in context, migrated first. The caller owns the
 * client; `layer` builds one.
 */
export const make = (options: LogOptions = {}) => Effect.map(makeStore(options), (store) => store.log)

/** The log over a `PgClient` the application provides (e.g. shared with its own queries). */
export const layerWith = (
  options: LogOptions = {}
): Layer.Layer<EventLog.EventLog, EventLog.StoreError | SchemaTooNew, PgClient.PgClient> =>
  Layer.scoped(EventLog.EventLog, make(options))

/** The log with its own connection pool. */
export const layer = (options: Options = {}): Layer.Layer<EventLog.EventLog, EventLog.StoreError | SchemaTooNew> =>
  layerWith(options).pipe(Layer.provide(clientLayer(options)))

/** The log at `DATABASE_URL`; `options` set the rest. */
export const layerConfig = (
  options: Omit<Options, "url"> = {}
): Layer.Layer<EventLog.EventLog, EventLog.StoreError | SchemaTooNew | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.redacted("DATABASE_URL"), (url) => layer({ ...options, url })))

/**
 * `layerWith` over a fresh schema of its own and a pool for `options`; the schema is dropped with
 * everything in it when the layer is released.
 */
export const temporary = <A, E>(
  options: Omit<Options, "schema">,
  layerWith: (options: LogOptions) => Layer.Layer<A, E, PgClient.PgClient>
): Layer.Layer<A, E | EventLog.StoreError> =>
  Layer.unwrapEffect(
    Effect.sync(() => {
      const schema = `tessera_tmp_${Math.random().toString(36).slice(2, 14)}`
      const drop = Layer.scopedDiscard(
        Effect.gen(function* () {
          const sql = yield* PgClient.PgClient
          yield* Effect.addFinalizer(() => Effect.ignore(sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`))
        })
      )
      return layerWith({ ...options, schema }).pipe(Layer.provide(Layer.provideMerge(drop, clientLayer(options))))
    })
  )

/**
 * A log in a fresh schema of its own, dropped with everything in it when the layer is released:
 * for tests, and for throwaway pipelines against a shared server.
 */
export const layerTemporary = (
  options: Omit<Options, "schema"> = {}
): Layer.Layer<EventLog.EventLog, EventLog.StoreError | SchemaTooNew> => temporary(options, layerWith)
