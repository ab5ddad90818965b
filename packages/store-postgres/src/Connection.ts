/**
 * Where the database is: connection options, the `PgClient` config they make, and the client layer
 * whose connection errors are `StoreError`s.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { EventLog } from "@tessera/core"
import { type Duration, Layer, Redacted } from "effect"
import { describe, STORE } from "./SqlErrors.js"

/** Where the database is and how many connections to keep. */
export interface ConnectionOptions {
  /** `postgres://user:password@host:5432/database`; or the separate fields below. */
  readonly url?: string | Redacted.Redacted | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly database?: string | undefined
  readonly username?: string | undefined
  readonly password?: string | Redacted.Redacted | undefined
  readonly ssl?: PgClient.PgClientConfig["ssl"]
  /** Pool size per process (default 10). Appends hold one connection for their transaction. */
  readonly maxConnections?: number | undefined
  readonly minConnections?: number | undefined
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** How long opening a connection may take before it fails (default 10 seconds). */
  readonly connectTimeout?: Duration.DurationInput | undefined
  readonly connectionTTL?: Duration.DurationInput | undefined
  /** Shown in `pg_stat_activity.application_name` (default "tessera"). */
  readonly applicationName?: string | undefined
}

const redact = (value: string | Redacted.Redacted | undefined) =>
  typeof value === "string" ? Redacted.make(value) : value

/** The `PgClient` config for these options. Result and query names are never transformed: rows are stored as is. */
export const clientConfig = (options: ConnectionOptions): PgClient.PgClientConfig => ({
  url: redact(options.url),
  host: options.host,
  port: options.port,
  database: options.database,
  username: options.username,
  password: redact(options.password),
  ssl: options.ssl,
  maxConnections: options.maxConnections ?? 10,
  minConnections: options.minConnections,
  idleTimeout: options.idleTimeout,
  // A server that accepts TCP connections but never answers must not hang every command.
  connectTimeout: options.connectTimeout ?? "10 seconds",
  connectionTTL: options.connectionTTL,
  applicationName: options.applicationName ?? "tessera"
})

/** A `PgClient` for these options, with connection errors as `StoreError`. */
export const clientLayer = (
  options: ConnectionOptions
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, EventLog.StoreError> =>
  PgClient.layer(clientConfig(options)).pipe(
    Layer.catchAll((error) =>
      Layer.fail(
        new EventLog.StoreError({
          store: STORE,
          operation: "connect",
          reason: `${describe(error)}. Check that PostgreSQL is up and the connection settings (the store URL: --store, TESSERA_STORE or DATABASE_URL) are right`,
          cause: error
        })
      )
    )
  )
