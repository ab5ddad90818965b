/**
 * The run's PostgreSQL (started by the root global setup, or `DATABASE_URL`) and what tests do to it
 * from the outside: an admin connection, killing a store's connections, fresh schema names.
 */
import { randomBytes } from "node:crypto"
import * as PgClient from "@effect/sql-pg/PgClient"
import { EventLog } from "@tessera/core"
import { PgEventLog } from "@tessera/store-postgres"
import { Effect, Layer, Redacted } from "effect"
import { inject } from "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    readonly postgresUrl: string
  }
}

export const serverUrl = (): string => inject("postgresUrl")

/** A connection of the test's own, outside any store under test. */
export const Admin = Layer.suspend(() =>
  PgClient.layer({ url: Redacted.make(serverUrl()), maxConnections: 2, applicationName: "tessera-test-admin" })
)

export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(5).toString("hex")}`

/** Terminates every backend of the given application name, as an operator or a network cut would. */
export const terminate = (applicationName: string) =>
  Effect.flatMap(PgClient.PgClient, (sql) =>
    Effect.map(
      sql<{ readonly killed: boolean }>`SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
        WHERE application_name = ${applicationName} AND pid <> pg_backend_pid()`,
      (rows) => rows.filter((row) => row.killed).length
    )
  )

/** Drops `schema` when the test's scope closes. */
export const dropAfter = (schema: string) =>
  Effect.flatMap(PgClient.PgClient, (sql) =>
    Effect.addFinalizer(() => Effect.ignore(sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`))
  )

/** A log on the run's server with `options`, open for the test's scope. */
export const openLog = (options: PgEventLog.Options) =>
  Effect.flatMap(Layer.build(PgEventLog.layer({ url: serverUrl(), ...options })), (context) =>
    EventLog.EventLog.pipe(Effect.provide(context))
  )
