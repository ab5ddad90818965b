/**
 * Sensors' and schedules' pauses and last runs (`AutomationState`) in a table beside the log,
 * `tessera_automations`, so every daemon and server on one store sees the same pause and a restart
 * keeps it. Like the server's webhook table it is the CLI's own: made when a daemon or server opens
 * the store, outside the store's migrations. The listing commands open it read-only: they make no
 * table, and a store without one has no state yet. Delta and in-memory stores keep the state in
 * the process (`AutomationState.memory`).
 */
import type { SqlClient } from "@effect/sql"
import { AutomationState, EventLog } from "@tessera/core"
import { Effect, Layer, Redacted } from "effect"
import type * as Store from "../config/Store.js"

export const TABLE = "tessera_automations"

type Row = AutomationState.Row

interface Stored {
  readonly name: string
  readonly kind: string
  readonly paused: number | boolean
  readonly since: number | string
  readonly last_run_at: number | string | null
  readonly last_error: string | null
}

const failed = (store: string, operation: string) => (cause: unknown) =>
  new EventLog.StoreError({ store, operation: `automations.${operation}`, reason: String(cause), cause })

const fromStored = (row: Stored): Row => ({
  name: row.name,
  kind: row.kind === "schedule" ? "schedule" : "sensor",
  paused: Number(row.paused) === 1 || row.paused === true,
  since: Number(row.since),
  ...(row.last_run_at === null ? {} : { lastRunAt: Number(row.last_run_at) }),
  ...(row.last_error === null ? {} : { lastError: row.last_error })
})

/** A store whose table is absent, opened to read: it has no state, and nothing may write. */
const absent = (store: string): AutomationState.AutomationStateShape => {
  const readOnly = (operation: string) =>
    Effect.fail(failed(store, operation)("the automation table is opened read-only and does not exist"))
  return {
    durable: true,
    open: () => readOnly("open"),
    rows: () => Effect.succeed(new Map()),
    setPaused: () => readOnly("pause"),
    ran: () => readOnly("ran")
  }
}

const onSql = (
  sql: SqlClient.SqlClient,
  store: string,
  table: string,
  exists: Effect.Effect<boolean, unknown>,
  create: boolean
): Effect.Effect<AutomationState.AutomationStateShape, EventLog.StoreError> =>
  Effect.gen(function* () {
    const t = sql(table)
    if (create) {
      yield* sql`CREATE TABLE IF NOT EXISTS ${t} (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0,
        since BIGINT NOT NULL,
        last_run_at BIGINT,
        last_error TEXT
      )`.pipe(Effect.mapError(failed(store, "create")))
    } else if (!(yield* Effect.mapError(exists, failed(store, "open")))) return absent(store)
    const select = (names: ReadonlyArray<string>) =>
      sql<Stored>`SELECT name, kind, paused, since, last_run_at, last_error FROM ${t} WHERE ${sql.in("name", names)}`
    const one = (name: string, operation: string) =>
      select([name]).pipe(
        Effect.flatMap((rows) =>
          rows[0] === undefined ? Effect.dieMessage(`${name} is not in ${table}`) : Effect.succeed(fromStored(rows[0]))
        ),
        Effect.mapError(failed(store, operation))
      )
    return {
      durable: true,
      open: (name, kind, now) =>
        sql`INSERT INTO ${t} (name, kind, paused, since) VALUES (${name}, ${kind}, 0, ${now}) ON CONFLICT (name) DO NOTHING`.pipe(
          Effect.mapError(failed(store, "open")),
          Effect.zipRight(one(name, "open"))
        ),
      rows: (names) =>
        names.length === 0
          ? Effect.succeed(new Map())
          : select(names).pipe(
              Effect.map((rows) => new Map(rows.map((row) => [row.name, fromStored(row)] as const))),
              Effect.mapError(failed(store, "rows"))
            ),
      setPaused: (name, kind, paused, now) =>
        sql`INSERT INTO ${t} AS a (name, kind, paused, since) VALUES (${name}, ${kind}, ${paused ? 1 : 0}, ${now})
            ON CONFLICT (name) DO UPDATE SET
              since = CASE WHEN a.paused = 1 AND excluded.paused = 0 THEN excluded.since ELSE a.since END,
              paused = excluded.paused`.pipe(
          Effect.mapError(failed(store, "pause")),
          Effect.zipRight(one(name, "pause"))
        ),
      ran: (name, at, error) =>
        sql`UPDATE ${t} SET
              last_run_at = CASE WHEN last_run_at IS NULL OR last_run_at < ${at} THEN ${at} ELSE last_run_at END,
              last_error = ${error ?? null}
            WHERE name = ${name}`.pipe(Effect.asVoid, Effect.mapError(failed(store, "ran")))
    }
  })

/** Beside a SQLite log, on a connection of its own to the same file. */
const sqlite = (filename: string, create: boolean): Layer.Layer<AutomationState.AutomationState, EventLog.StoreError> =>
  Layer.unwrapEffect(
    Effect.promise(async () => {
      const { SqliteClient } = await import("@effect/sql-sqlite-node")
      const { SqlClient } = await import("@effect/sql")
      return Layer.effect(
        AutomationState.AutomationState,
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.zipRight(
            sql.unsafe("PRAGMA busy_timeout = 5000").pipe(Effect.mapError(failed("sqlite", "open"))),
            onSql(
              sql,
              "sqlite",
              TABLE,
              Effect.map(
                sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name = ${TABLE}`,
                (rows) => rows.length > 0
              ),
              create
            )
          )
        )
      ).pipe(Layer.provide(Layer.orDie(SqliteClient.layer({ filename }))))
    })
  )

/** Beside a PostgreSQL log, in its schema, on a small pool of its own. */
const postgres = (
  url: string,
  schema: string,
  create: boolean
): Layer.Layer<AutomationState.AutomationState, EventLog.StoreError> =>
  Layer.unwrapEffect(
    Effect.promise(async () => {
      const { PgClient } = await import("@effect/sql-pg")
      const { SqlClient } = await import("@effect/sql")
      return Layer.effect(
        AutomationState.AutomationState,
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          onSql(
            sql,
            "postgres",
            `${schema}.${TABLE}`,
            Effect.map(
              sql<{ readonly found: string | null }>`SELECT to_regclass(${`${schema}.${TABLE}`})::text AS found`,
              (rows) => rows[0]?.found !== null && rows[0]?.found !== undefined
            ),
            create
          )
        )
      ).pipe(
        Layer.provide(
          Layer.orDie(
            PgClient.layer({ url: Redacted.make(url), maxConnections: 2, applicationName: "tessera-automations" })
          )
        )
      )
    })
  )

/**
 * The state of the sensors and schedules on `store`: its table (made when `create`), or the
 * process's memory for a Delta store.
 */
export const layer = (
  store: Store.StoreSpec,
  options: { readonly create: boolean }
): Layer.Layer<AutomationState.AutomationState, EventLog.StoreError> =>
  Layer.unwrapEffect(
    Effect.promise(async () => {
      switch (store._tag) {
        case "Sqlite":
          return store.filename === ":memory:" ? AutomationState.memory : sqlite(store.filename, options.create)
        case "Postgres": {
          const { PgEventLog } = await import("@tessera/store-postgres")
          return postgres(store.url, store.schema ?? PgEventLog.DEFAULT_SCHEMA, options.create)
        }
        case "Delta":
          return AutomationState.memory
      }
    })
  )
