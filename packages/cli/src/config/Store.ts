/**
 * `--store` values: `sqlite:PATH`, `postgres://…` (or `postgresql://…`) and `delta:PATH`, each turned
 * into the store's `EventLog` layer.
 */
import * as path from "node:path"
import type { Compaction, EventLog, JobQueue } from "@tessera/core"
import type { Migrations } from "@tessera/store-postgres"
import type { SqliteOpenError } from "@tessera/store-sqlite"
import { Effect, Either, Layer } from "effect"
import { InvalidStore, StoreDidNotOpen } from "../Errors.js"

export const DEFAULT_STORE = "sqlite:.tessera/events.db"

export type StoreSpec =
  | { readonly _tag: "Sqlite"; readonly filename: string }
  | {
      readonly _tag: "Postgres"
      readonly url: string
      readonly schema?: string | undefined
      /** From `?connect_timeout=` (seconds, as libpq spells it), in ms. */
      readonly connectTimeoutMs?: number | undefined
      /** From `?operation_timeout=` (seconds), in ms: Tessera's bound on one store call. */
      readonly operationTimeoutMs?: number | undefined
    }
  | { readonly _tag: "Delta"; readonly path: string }

/** Parses a store value; relative paths are taken from `base` (the cwd, or the config file's folder). */
export const parse = (value: string, base: string): Either.Either<StoreSpec, InvalidStore> => {
  const fail = (reason: string) => Either.left(new InvalidStore({ store: value, reason }))
  if (value.startsWith("sqlite:")) {
    const file = value.slice("sqlite:".length)
    if (file === "") return fail("sqlite: needs a file path after the colon")
    return Either.right({ _tag: "Sqlite", filename: file === ":memory:" ? file : path.resolve(base, file) })
  }
  if (value.startsWith("delta:")) {
    const folder = value.slice("delta:".length)
    if (folder === "") return fail("delta: needs a folder path after the colon")
    return Either.right({ _tag: "Delta", path: path.resolve(base, folder) })
  }
  if (value.startsWith("postgres://") || value.startsWith("postgresql://")) {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      return fail("the PostgreSQL URL does not parse")
    }
    // Tessera's own parameters: the driver must not see them as server settings.
    const own: Record<string, string | undefined> = {}
    for (const name of ["schema", "connect_timeout", "operation_timeout"]) {
      const values = url.searchParams.getAll(name)
      if (values.length > 1) return fail(`?${name}= is given ${values.length} times; give it once`)
      own[name] = values[0]
      url.searchParams.delete(name)
    }
    const seconds = (name: string) => {
      const text = own[name]
      if (text === undefined) return Either.right(undefined)
      const n = Number(text)
      return Number.isFinite(n) && n > 0
        ? Either.right(Math.round(n * 1000))
        : Either.left(`?${name}= must be a number of seconds above 0, not "${text}"`)
    }
    const connect = seconds("connect_timeout")
    if (Either.isLeft(connect)) return fail(connect.left)
    const operation = seconds("operation_timeout")
    if (Either.isLeft(operation)) return fail(operation.left)
    return Either.right({
      _tag: "Postgres",
      url: url.toString(),
      schema: own.schema,
      connectTimeoutMs: connect.right,
      operationTimeoutMs: operation.right
    })
  }
  return fail("it starts with none of sqlite:, postgres://, postgresql://, delta:")
}

/** Where the log is, for messages; the password of a PostgreSQL URL is left out. */
export const describe = (spec: StoreSpec): string => {
  switch (spec._tag) {
    case "Sqlite":
      return `sqlite:${spec.filename}`
    case "Delta":
      return `delta:${spec.path}`
    case "Postgres": {
      const url = new URL(spec.url)
      if (url.password !== "") url.password = "***"
      return url.toString() + (spec.schema === undefined ? "" : ` (schema ${spec.schema})`)
    }
  }
}

export type OpenError = SqliteOpenError | StoreDidNotOpen | Migrations.SchemaTooNew

type RawOpenError = SqliteOpenError | EventLog.StoreError | Migrations.SchemaTooNew

/**
 * A store that does not open (unreachable, damaged, refused) is the same error on every store,
 * `StoreDidNotOpen` (exit 2), naming the store; failures once it is open stay `StoreError` (exit 1).
 */
const opened =
  (spec: StoreSpec) =>
  <A>(layer: Layer.Layer<A, RawOpenError>): Layer.Layer<A, OpenError> =>
    layer.pipe(
      Layer.catchAll((error) =>
        Layer.fail(
          error._tag === "StoreError" ? new StoreDidNotOpen({ store: describe(spec), reason: error.message }) : error
        )
      )
    )

/**
 * A store's package (its driver; Parquet and Arrow for Delta) is imported only when a command opens that
 * store: loading all three added about 300 ms to the startup of every command, `--help` included.
 */
const lazy = <A, E>(load: () => Promise<Layer.Layer<A, E>>): Layer.Layer<A, E> =>
  Layer.unwrapEffect(Effect.promise(load))

export const layer = (spec: StoreSpec): Layer.Layer<EventLog.EventLog, OpenError> => {
  switch (spec._tag) {
    case "Sqlite":
      return lazy(async () =>
        opened(spec)((await import("@tessera/store-sqlite")).SqliteEventLog.layer({ filename: spec.filename }))
      )
    case "Delta":
      return lazy(async () =>
        opened(spec)((await import("@tessera/store-delta")).DeltaEventLog.layer({ path: spec.path }))
      )
    case "Postgres":
      // Also provides the job queue, which `Builds` picks up for builds requested with `--executor workers`.
      return postgresLayer(spec, "tessera")
  }
}

/**
 * The compactor of a SQL store (`tessera compact --before`, the retention policy): on SQLite it opens
 * the file with connections of its own, like any other process sharing it; on PostgreSQL it comes
 * with the store's layer. A Delta log has none: its files are compacted, its events kept.
 */
export const compactorLayer = (
  spec: Exclude<StoreSpec, { readonly _tag: "Delta" }>
): Layer.Layer<Compaction.Compactor, OpenError> =>
  spec._tag === "Sqlite"
    ? lazy(async () =>
        opened(spec)((await import("@tessera/store-sqlite")).SqliteCompactor.layer({ filename: spec.filename }))
      )
    : postgresLayer(spec, "tessera-compact")

/**
 * The PostgreSQL log and, beside it, the distributed workers' job queue. `applicationName` shows in
 * `pg_stat_activity`, so operators can tell workers' connections from the rest.
 */
export const postgresLayer = (
  spec: Extract<StoreSpec, { readonly _tag: "Postgres" }>,
  applicationName: string
): Layer.Layer<EventLog.EventLog | JobQueue.JobQueue | Compaction.Compactor, OpenError> =>
  lazy(async () =>
    opened(spec)(
      (await import("@tessera/store-postgres")).PgStore.layer({
        url: spec.url,
        applicationName,
        ...(spec.schema === undefined ? {} : { schema: spec.schema }),
        ...(spec.connectTimeoutMs === undefined ? {} : { connectTimeout: spec.connectTimeoutMs }),
        ...(spec.operationTimeoutMs === undefined ? {} : { operationTimeout: spec.operationTimeoutMs })
      })
    )
  )
