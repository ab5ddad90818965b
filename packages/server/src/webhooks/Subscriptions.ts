/**
 * Who wants a build's status changes, and how far each was delivered: a table in the store beside
 * the log (`tessera_webhooks`), so a restarted server, or another server on the same store, resumes
 * delivery at the cursor and skips nothing. The table is the server's own: created when a server
 * opens the store, outside the store's migrations, and read by no store.
 */
import { Context, Effect, Layer, Ref } from "effect"
import type { SqlClient } from "@effect/sql"
import { EventLog } from "@tessera/core"

export interface Subscription {
  readonly buildRequestId: string
  readonly url: string
  /** The seq of the last event delivered (0: none yet). */
  readonly cursor: number
}

export interface SubscriptionsShape {
  /** Records the subscription; the same build and URL again is a no-op. */
  readonly add: (buildRequestId: string, url: string) => Effect.Effect<void, EventLog.StoreError>
  /** Subscriptions whose build's end was not delivered yet. */
  readonly pending: Effect.Effect<ReadonlyArray<Subscription>, EventLog.StoreError>
  /** Moves the cursor forward (never back: two servers may deliver the same event); `done` ends it. */
  readonly advance: (subscription: Subscription, seq: number, done: boolean) => Effect.Effect<void, EventLog.StoreError>
}

export class Subscriptions extends Context.Tag("@tessera/server/Subscriptions")<Subscriptions, SubscriptionsShape>() {}

/** In this process only: for tests and the in-memory store. */
export const memory: Layer.Layer<Subscriptions> = Layer.effect(
  Subscriptions,
  Effect.map(Ref.make(new Map<string, Subscription & { readonly done: boolean }>()), (rows) => {
    const key = (id: string, url: string) => `${id}\u0000${url}`
    return {
      add: (buildRequestId, url) =>
        Ref.update(rows, (map) =>
          map.has(key(buildRequestId, url))
            ? map
            : new Map(map).set(key(buildRequestId, url), { buildRequestId, url, cursor: 0, done: false })
        ),
      pending: Effect.map(Ref.get(rows), (map) => [...map.values()].filter((row) => !row.done)),
      advance: (subscription, seq, done) =>
        Ref.update(rows, (map) => {
          const k = key(subscription.buildRequestId, subscription.url)
          const row = map.get(k)
          if (row === undefined) return map
          return new Map(map).set(k, { ...row, cursor: Math.max(row.cursor, seq), done: row.done || done })
        })
    }
  })
)

const failed = (store: string, operation: string) => (cause: unknown) =>
  new EventLog.StoreError({ store, operation, reason: String(cause), cause })

/** The table on a SQL client; `table` is the (schema-qualified) name. */
const onSql = (
  sql: SqlClient.SqlClient,
  store: string,
  table: string
): Effect.Effect<SubscriptionsShape, EventLog.StoreError> =>
  Effect.gen(function* () {
    const t = sql(table)
    yield* sql`CREATE TABLE IF NOT EXISTS ${t} (
      build_request_id TEXT NOT NULL,
      url TEXT NOT NULL,
      cursor BIGINT NOT NULL DEFAULT 0,
      done INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (build_request_id, url)
    )`.pipe(Effect.mapError(failed(store, "webhooks.create")))
    return {
      add: (buildRequestId, url) =>
        sql`INSERT INTO ${t} (build_request_id, url) VALUES (${buildRequestId}, ${url}) ON CONFLICT DO NOTHING`.pipe(
          Effect.asVoid,
          Effect.mapError(failed(store, "webhooks.add"))
        ),
      pending: sql<{ readonly build_request_id: string; readonly url: string; readonly cursor: number | string }>`
        SELECT build_request_id, url, cursor FROM ${t} WHERE done = 0 ORDER BY build_request_id, url`.pipe(
        Effect.map((rows) =>
          rows.map((row) => ({ buildRequestId: row.build_request_id, url: row.url, cursor: Number(row.cursor) }))
        ),
        Effect.mapError(failed(store, "webhooks.pending"))
      ),
      advance: (subscription, seq, done) =>
        sql`UPDATE ${t} SET cursor = CASE WHEN cursor < ${seq} THEN ${seq} ELSE cursor END,
              done = CASE WHEN ${done ? 1 : 0} = 1 THEN 1 ELSE done END
            WHERE build_request_id = ${subscription.buildRequestId} AND url = ${subscription.url}`.pipe(
          Effect.asVoid,
          Effect.mapError(failed(store, "webhooks.advance"))
        )
    }
  })

/** Beside a SQLite log, on a connection of its own to the same file. */
export const sqlite = (filename: string): Layer.Layer<Subscriptions, EventLog.StoreError> =>
  Layer.unwrapEffect(
    Effect.promise(async () => {
      const { SqliteClient } = await import("@effect/sql-sqlite-node")
      const { SqlClient } = await import("@effect/sql")
      return Layer.effect(
        Subscriptions,
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.zipRight(sql.unsafe("PRAGMA busy_timeout = 5000"), onSql(sql, "sqlite", "tessera_webhooks")).pipe(
            Effect.mapError(failed("sqlite", "webhooks.open"))
          )
        )
      ).pipe(Layer.provide(Layer.orDie(SqliteClient.layer({ filename }))))
    })
  )

/** Beside a PostgreSQL log, in its schema, on a small pool of its own. */
export const postgres = (options: {
  readonly url: string
  readonly schema: string
}): Layer.Layer<Subscriptions, EventLog.StoreError> =>
  Layer.unwrapEffect(
    Effect.promise(async () => {
      const { PgClient } = await import("@effect/sql-pg")
      const { SqlClient } = await import("@effect/sql")
      const { Redacted } = await import("effect")
      return Layer.effect(
        Subscriptions,
        Effect.flatMap(SqlClient.SqlClient, (sql) => onSql(sql, "postgres", `${options.schema}.tessera_webhooks`))
      ).pipe(
        Layer.provide(
          Layer.orDie(
            PgClient.layer({ url: Redacted.make(options.url), maxConnections: 2, applicationName: "tessera-webhooks" })
          )
        )
      )
    })
  )
