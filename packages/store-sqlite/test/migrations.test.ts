import * as path from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { EventCodec, EventFilter } from "@tessera/core"
import { Chunk, Effect, Stream } from "effect"
import { SqliteEventLog, SqliteMigrations } from "../src/index.js"
import { bytesOf, delegated, rawClient, tempDir } from "./helpers.js"

/** A job run row as an earlier version of the store kept it. */
const builtFromRaw = {
  jobRunId: "r1",
  buildRequestId: "b1",
  jobName: "clean",
  jobVersion: "1",
  outputs: ["sales/date=1"],
  inputs: ["raw/date=1"],
  attempt: 1,
  status: "COMPLETED",
  createdAt: 1,
  updatedSeq: 1,
  updatedAt: 1
}

const migrationIds = (filename: string) =>
  Effect.scoped(
    Effect.flatMap(rawClient(filename), (sql) =>
      Effect.map(
        sql<{ migration_id: number }>`SELECT migration_id FROM tessera_migrations ORDER BY migration_id`,
        (rows) => rows.map((row) => row.migration_id)
      )
    )
  )

describe("SqliteEventLog migrations", () => {
  it.scopedLive("a new file gets every migration, the schema version and Tessera's application id", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "events.db")
      yield* Effect.scoped(SqliteEventLog.make({ filename }))
      expect(yield* migrationIds(filename)).toEqual(Array.from({ length: SqliteMigrations.LATEST }, (_, i) => i + 1))
      const sql = yield* rawClient(filename)
      const [version] = yield* sql<{ user_version: number }>`PRAGMA user_version`
      const [application] = yield* sql<{ application_id: number }>`PRAGMA application_id`
      expect(version!.user_version).toBe(SqliteMigrations.LATEST)
      expect(application!.application_id).toBe(SqliteMigrations.APPLICATION_ID)
      // Pages that compaction frees go back to the file system (2 = INCREMENTAL).
      const [vacuum] = yield* sql<{ auto_vacuum: number }>`PRAGMA auto_vacuum`
      expect(vacuum!.auto_vacuum).toBe(2)
    })
  )

  it.scopedLive("a file written by an older version is upgraded in place, keeping its events", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "events.db")
      const old = delegated("sales/date=1")
      // What version 1 of the store left behind: the tables without the query indexes, and one event.
      yield* Effect.scoped(
        Effect.gen(function* () {
          const sql = yield* rawClient(filename)
          yield* sql.withTransaction(SqliteMigrations.run(1).pipe(Effect.provideService(SqlClient.SqlClient, sql)))
          yield* sql`PRAGMA user_version = 1`
          yield* sql`INSERT INTO events ${sql.insert({
            seq: 1,
            event_id: old.eventId,
            timestamp: old.timestamp,
            build_request_id: old.buildRequestId,
            kind: old._tag,
            partition_ref: old.partitionRef,
            job_run_id: null,
            payload: EventCodec.encode(old)
          })}`
          yield* sql`INSERT INTO job_runs ${sql.insert({
            job_run_id: "r1",
            build_request_id: "b1",
            job_name: "clean",
            status: "COMPLETED",
            data: JSON.stringify(builtFromRaw)
          })}`
        })
      )
      expect(yield* migrationIds(filename)).toEqual([1])

      const log = yield* SqliteEventLog.make({ filename })
      expect(yield* migrationIds(filename)).toEqual(Array.from({ length: SqliteMigrations.LATEST }, (_, i) => i + 1))
      expect(yield* log.compactedThrough!).toBe(0)
      // Runs written before the index of runs by input are found through it.
      expect((yield* log.jobRuns({ inputs: ["raw/date=1"] })).items).toEqual([builtFromRaw])
      const next = yield* log.append([delegated("sales/date=2")])
      expect(next.appended.map((e) => e.seq)).toEqual([2])
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream({ refPrefixes: ["sales/"] })))
      expect(events.map((e) => e.event.eventId)).toEqual([old.eventId, next.appended[0]!.event.eventId])
      // An event from before append times were kept reads as appended at its own timestamp.
      expect(events.map((e) => e.appendedAt)).toEqual([old.timestamp, next.appended[0]!.appendedAt])
      const sql = yield* rawClient(filename)
      const indexes = yield* sql<{
        name: string
      }>`SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'events_by_partition_ref'`
      expect(indexes).toHaveLength(1)
    })
  )

  it.scopedLive("a file from a newer version is refused and left as it was", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      for (const [name, bump] of [
        [
          "migration",
          `INSERT INTO tessera_migrations (migration_id, name) VALUES (${SqliteMigrations.LATEST + 1}, 'from_the_future')`
        ],
        ["user_version", "PRAGMA user_version = 7"]
      ] as const) {
        const filename = path.join(dir, `${name}.db`)
        yield* Effect.scoped(
          Effect.flatMap(SqliteEventLog.make({ filename }), (log) => log.append([delegated("sales/date=1")]))
        )
        yield* Effect.scoped(Effect.flatMap(rawClient(filename), (sql) => sql.unsafe(bump)))
        const before = yield* bytesOf(filename)
        const refused = yield* Effect.flip(Effect.scoped(SqliteEventLog.make({ filename })))
        expect(refused._tag).toBe("DatabaseTooNew")
        expect(refused).toMatchObject({
          version: name === "migration" ? SqliteMigrations.LATEST + 1 : 7,
          supported: SqliteMigrations.LATEST
        })
        expect(refused.message).toContain("Upgrade @tessera/store-sqlite")
        expect(yield* bytesOf(filename)).toEqual(before)
        // Still readable by the version that wrote it: here, after undoing the bump by hand.
        yield* Effect.scoped(
          Effect.flatMap(rawClient(filename), (sql) =>
            sql.unsafe(
              name === "migration"
                ? `DELETE FROM tessera_migrations WHERE migration_id = ${SqliteMigrations.LATEST + 1}`
                : `PRAGMA user_version = ${SqliteMigrations.LATEST}`
            )
          )
        )
        const log = yield* SqliteEventLog.make({ filename })
        expect(yield* Stream.runCount(log.stream(EventFilter.all))).toBe(1)
      }
    })
  )

  it.scopedLive("connections opening one new file at once migrate it exactly once", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDir, "events.db")
      const logs = yield* Effect.forEach(
        Array.from({ length: 4 }, () => SqliteEventLog.make({ filename })),
        (open) => open,
        { concurrency: "unbounded" }
      )
      expect(yield* migrationIds(filename)).toEqual(Array.from({ length: SqliteMigrations.LATEST }, (_, i) => i + 1))
      yield* Effect.forEach(logs, (log, i) => log.append([delegated(`sales/date=${i}`)]), { concurrency: "unbounded" })
      expect(yield* logs[0]!.head).toBe(4)
    })
  )
})
