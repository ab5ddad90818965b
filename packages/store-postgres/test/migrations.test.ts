import * as net from "node:net"
import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { EventLog } from "@tessera/core"
import { Migrations, PgEventLog } from "@tessera/store-postgres"
import { Effect, Layer } from "effect"
import * as ev from "./events.js"
import { Admin, dropAfter, serverUrl, uniqueName } from "./helpers.js"

const open = (schema: string) =>
  Effect.scoped(Layer.build(PgEventLog.layer({ url: serverUrl(), schema, maxConnections: 2 })))

describe("PgEventLog migrations", () => {
  it.scopedLive("processes that start at once migrate a schema exactly once and all open it", () =>
    Effect.gen(function* () {
      const schema = uniqueName("mig")
      yield* dropAfter(schema)
      yield* Effect.forEach(Array.from({ length: 8 }), () => open(schema), { concurrency: "unbounded" })
      const sql = yield* PgClient.PgClient
      const applied = yield* sql<{ readonly migration_id: number }>`SELECT migration_id
        FROM ${sql(`${schema}.${Migrations.MIGRATIONS_TABLE}`)} ORDER BY migration_id`
      expect(applied.map((row) => row.migration_id)).toEqual(Array.from({ length: Migrations.LATEST }, (_, i) => i + 1))
      const tables = yield* sql<{ readonly table_name: string }>`SELECT table_name FROM information_schema.tables
        WHERE table_schema = ${schema} ORDER BY table_name`
      expect(tables.map((row) => row.table_name)).toEqual([
        "build_requests",
        "compaction",
        "events",
        "job_queue",
        "job_queue_builds",
        "job_queue_deps",
        "job_runs",
        "partitions",
        Migrations.MIGRATIONS_TABLE
      ])
    }).pipe(Effect.provide(Admin))
  )

  it.scopedLive("a schema migrated by a newer version is refused with SchemaTooNew, and left untouched", () =>
    Effect.gen(function* () {
      const schema = uniqueName("newer")
      yield* dropAfter(schema)
      yield* open(schema)
      const sql = yield* PgClient.PgClient
      const table = sql(`${schema}.${Migrations.MIGRATIONS_TABLE}`)
      yield* sql`INSERT INTO ${table} (migration_id, name) VALUES (${Migrations.LATEST + 1}, 'from_the_future')`
      const refused = yield* Effect.flip(open(schema))
      expect(refused._tag).toBe("SchemaTooNew")
      expect(refused.message).toContain(`is at migration ${Migrations.LATEST + 1}`)
      expect(refused.message).toContain("Upgrade @tessera/store-postgres")
      const rows = yield* sql`SELECT migration_id FROM ${table}`
      expect(rows).toHaveLength(Migrations.LATEST + 1)
    }).pipe(Effect.provide(Admin))
  )

  it.scopedLive("a bad schema name or an unreachable server is a StoreError that says what to fix", () =>
    Effect.gen(function* () {
      const badName = yield* Effect.flip(open("Robert'); DROP TABLE students"))
      expect(badName).toBeInstanceOf(EventLog.StoreError)
      expect(badName.message).toContain("schema name")
      for (const reserved of ["public", "information_schema", "pg_catalog", "pg_toast"]) {
        const refused = yield* Effect.flip(open(reserved))
        expect(refused.message).toContain(`schema "${reserved}" belongs to PostgreSQL or to the application`)
      }
      const unreachable = yield* Effect.flip(
        Effect.scoped(
          Layer.build(PgEventLog.layer({ url: "postgres://nobody@127.0.0.1:1/none", connectTimeout: "2 seconds" }))
        )
      )
      expect(unreachable).toBeInstanceOf(EventLog.StoreError)
      expect(unreachable.message).toContain("postgres store: connect failed")
      expect(unreachable.message).toContain("--store")
      // A server that accepts the connection and then says nothing: the open fails within the bound.
      const silent = yield* Effect.acquireRelease(
        Effect.async<net.Server>((resume) => {
          const server = net.createServer(() => {})
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.sync(() => server.close())
      )
      const port = (silent.address() as net.AddressInfo).port
      const mute = yield* Effect.flip(
        Effect.scoped(
          Layer.build(PgEventLog.layer({ url: `postgres://nobody@127.0.0.1:${port}/none`, connectTimeout: "1 second" }))
        )
      ).pipe(Effect.timeout("30 seconds"))
      expect(mute).toBeInstanceOf(EventLog.StoreError)
      expect(mute.message).toContain("postgres store: connect failed")
    })
  )

  it.scopedLive("the log lives in its schema: two schemas in one database are two independent logs", () =>
    Effect.gen(function* () {
      const [a, b] = [uniqueName("a"), uniqueName("b")]
      yield* dropAfter(a)
      yield* dropAfter(b)
      const logA = yield* Layer.build(PgEventLog.layer({ url: serverUrl(), schema: a }))
      const logB = yield* Layer.build(PgEventLog.layer({ url: serverUrl(), schema: b }))
      const inA = yield* EventLog.EventLog.pipe(Effect.provide(logA))
      const inB = yield* EventLog.EventLog.pipe(Effect.provide(logB))
      yield* inA.append([ev.note("x/y=1", "b1"), ev.note("x/y=2", "b1")])
      yield* inB.append([ev.note("x/y=3", "b1")])
      expect(yield* inA.head).toBe(2)
      expect(yield* inB.head).toBe(1)
    }).pipe(Effect.provide(Admin))
  )
})
