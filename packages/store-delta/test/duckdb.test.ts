import { DuckDBInstance } from "@duckdb/node-api"
import { describe, expect, it } from "@effect/vitest"
import { EventLog } from "@tessera/core"
import { Effect } from "effect"
import { append, compact, createTable, DeltaEventLog, loadSnapshot, readAll, type Snapshot } from "../src/index.js"
import { bySeq, sampleRows, sampleSchema, tempDir } from "./helpers.js"
import { checkLog } from "./logChecker.js"

/** DuckDB reading the active files the log lists, as an engine without Delta support would. */
const duckdb = (snapshot: Snapshot, select: string) =>
  Effect.acquireUseRelease(
    Effect.promise(() => DuckDBInstance.create(":memory:")),
    (instance) =>
      Effect.promise(async () => {
        const connection = await instance.connect()
        try {
          const files = snapshot.files.map((file) => `'${file.absolutePath.replaceAll("'", "''")}'`).join(", ")
          const source = `read_parquet([${files}], hive_partitioning = false)`
          const types = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)
          const rows = await connection.runAndReadAll(`SELECT ${select} FROM ${source} ORDER BY seq`)
          return {
            types: Object.fromEntries(types.getRowObjectsJS().map((row) => [row.column_name, row.column_type])),
            rows: rows.getRowObjectsJS()
          }
        } finally {
          connection.closeSync()
        }
      }),
    (instance) => Effect.sync(() => instance.closeSync())
  )

describe("interop with DuckDB", () => {
  it.scoped("DuckDB reads the writer's files identically: rows, types, timestamps", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* createTable(path, { schema: sampleSchema, partitionColumns: ["day"] })
      for (let i = 0; i < 10; i++) yield* append(path, sampleRows(i * 5, 5, i % 2 === 0 ? "2026-11-01" : "2026-11-02"))
      yield* compact(path, { minFiles: 4, sortBy: "seq" })
      yield* append(path, sampleRows(50, 3))
      const snapshot = yield* loadSnapshot(path)
      const ours = bySeq(yield* readAll(snapshot))
      const { types, rows } = yield* duckdb(snapshot, `seq, id, epoch_ms("at") AS at_ms, "count", score, ok, note`)
      expect(types).toEqual({
        seq: "BIGINT",
        id: "VARCHAR",
        at: "TIMESTAMP WITH TIME ZONE",
        count: "INTEGER",
        score: "DOUBLE",
        ok: "BOOLEAN",
        note: "VARCHAR"
      })
      expect(rows.length).toBe(ours.length)
      expect(rows).toEqual(
        ours.map((row) => ({
          seq: row.seq,
          id: row.id,
          at_ms: BigInt((row.at as Date).getTime()),
          count: row.count,
          score: row.score,
          ok: row.ok,
          note: row.note
        }))
      )
      yield* checkLog(path)
    })
  )

  it.scoped("DuckDB reads the event log table", () =>
    Effect.gen(function* () {
      const path = yield* tempDir
      yield* Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const { BuildEvent, EventId } = yield* Effect.promise(() => import("@tessera/core"))
        for (let i = 0; i < 5; i++) {
          const timestamp = Date.UTC(2026, 10, 1 + i, 8)
          yield* log.append([
            new BuildEvent.BuildRequestReceived({
              eventId: EventId.unsafeMake(timestamp),
              timestamp,
              buildRequestId: `b${i}`,
              requestedRefs: [],
              source: "api",
              options: {}
            })
          ])
        }
      }).pipe(Effect.provide(DeltaEventLog.layer({ path })))
      const snapshot = yield* loadSnapshot(path)
      const ours = bySeq(yield* readAll(snapshot))
      const { types, rows } = yield* duckdb(
        snapshot,
        `seq, "eventId", epoch_ms("timestamp") AS ms, "buildRequestId", kind, "partitionRef", payload`
      )
      expect(types.timestamp).toBe("TIMESTAMP WITH TIME ZONE")
      expect(types.seq).toBe("BIGINT")
      expect(rows).toEqual(
        ours.map((row) => ({
          seq: row.seq,
          eventId: row.eventId,
          ms: BigInt((row.timestamp as Date).getTime()),
          buildRequestId: row.buildRequestId,
          kind: row.kind,
          partitionRef: null,
          payload: row.payload
        }))
      )
      expect(snapshot.files.map((file) => file.partitionValues.date).sort()).toEqual([
        "2026-11-01",
        "2026-11-02",
        "2026-11-03",
        "2026-11-04",
        "2026-11-05"
      ])
      yield* checkLog(path)
    })
  )
})
