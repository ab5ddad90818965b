import { DuckDBInstance } from "@duckdb/node-api"
import { BuildEvent, EventId, PartitionRef } from "@tessera/core"
import { Effect } from "effect"
import * as NodeFs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Row, StructField, StructType } from "../src/index.js"

/** A temp directory removed when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.promise(() => NodeFs.mkdtemp(Path.join(Os.tmpdir(), "tessera-delta-"))),
  (dir) => Effect.promise(() => NodeFs.rm(dir, { recursive: true, force: true }))
)

/** A schema field with no metadata. */
export const field = (name: string, type: StructField["type"], nullable = true): StructField => ({
  name,
  type,
  nullable,
  metadata: {}
})

export const sampleSchema: StructType = {
  type: "struct",
  fields: [
    field("seq", "long", false),
    field("id", "string", false),
    field("at", "timestamp", false),
    field("count", "integer"),
    field("score", "double"),
    field("ok", "boolean"),
    field("note", "string"),
    field("day", "string", false)
  ]
}

export const sampleRow = (seq: number, day = "2026-11-01"): Row => ({
  seq: BigInt(seq),
  id: `id-${String(seq).padStart(6, "0")}`,
  at: new Date(Date.UTC(2026, 10, 1, 12, 0, 0, seq)),
  count: seq % 7,
  score: seq / 4,
  ok: seq % 2 === 0,
  note: seq % 3 === 0 ? null : `note ${seq}`,
  day
})

export const sampleRows = (from: number, count: number, day?: string): ReadonlyArray<Row> =>
  Array.from({ length: count }, (_, i) => sampleRow(from + i, day))

export const bySeq = (rows: ReadonlyArray<Record<string, unknown>>) =>
  [...rows].sort((a, b) => Number(a.seq as bigint) - Number(b.seq as bigint))

/** Event `i` of a test log: its own build, on one of two days, so the log has two date partitions. */
export const delegatedEvent = (i: number) => {
  const timestamp = Date.UTC(2026, 10, 1 + (i % 2), 8) + i
  return new BuildEvent.Delegated({
    eventId: EventId.unsafeMake(timestamp),
    timestamp,
    buildRequestId: `b${i}`,
    partitionRef: PartitionRef.unsafeMake(`sales/date=${i}`),
    toBuildRequestId: "b0",
    mode: "historical"
  })
}

/** Runs `run` with a query function on a fresh in-memory DuckDB, closed afterwards. */
export const withDuckDB = <A>(run: (query: (sql: string) => Promise<Array<Record<string, unknown>>>) => Promise<A>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => DuckDBInstance.create(":memory:")),
    (instance) =>
      Effect.promise(async () => {
        const connection = await instance.connect()
        try {
          return await run(async (sql) => (await connection.runAndReadAll(sql)).getRowObjectsJS())
        } finally {
          connection.closeSync()
        }
      }),
    (instance) => Effect.sync(() => instance.closeSync())
  )
