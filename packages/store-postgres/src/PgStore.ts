/**
 * The whole PostgreSQL store: core's `EventLog` and, beside it in the same schema, the `JobQueue`
 * distributed workers claim job runs from. Both share one pool, one LISTEN connection and the same
 * retries. Use these layers in processes that request builds with the workers executor and in
 * workers; `PgEventLog`'s layers provide the log alone.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import { Compaction, EventLog, JobQueue } from "@tessera/core"
import { Config, type ConfigError, Context, Effect, Layer } from "effect"
import type { SchemaTooNew } from "./Migrations.js"
import { clientLayer } from "./Connection.js"
import * as PgEventLog from "./PgEventLog.js"

/** What these layers provide: the log, the queue, and the log's compactor (`tessera compact`, retention). */
export type Services = EventLog.EventLog | JobQueue.JobQueue | Compaction.Compactor

/** The log and the queue over a `PgClient` the application provides. */
export const layerWith = (
  options: PgEventLog.LogOptions = {}
): Layer.Layer<Services, EventLog.StoreError | SchemaTooNew, PgClient.PgClient> =>
  Layer.scopedContext(
    Effect.map(PgEventLog.makeStore(options), (store) =>
      Context.make(EventLog.EventLog, store.log).pipe(
        Context.add(JobQueue.JobQueue, store.queue),
        Context.add(Compaction.Compactor, store.compactor)
      )
    )
  )

/** The log and the queue with their own connection pool. */
export const layer = (options: PgEventLog.Options = {}): Layer.Layer<Services, EventLog.StoreError | SchemaTooNew> =>
  layerWith(options).pipe(Layer.provide(clientLayer(options)))

/** The log and the queue at `DATABASE_URL`; `options` set the rest. */
export const layerConfig = (
  options: Omit<PgEventLog.Options, "url"> = {}
): Layer.Layer<Services, EventLog.StoreError | SchemaTooNew | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.redacted("DATABASE_URL"), (url) => layer({ ...options, url })))

/** The log and the queue in a fresh schema, dropped when the layer is released (tests, throwaway runs). */
export const layerTemporary = (
  options: Omit<PgEventLog.Options, "schema"> = {}
): Layer.Layer<Services, EventLog.StoreError | SchemaTooNew> => PgEventLog.temporary(options, layerWith)
