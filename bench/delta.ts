/**
 * Delta store: event-log appends of 1, 100 and 10,000 events (one commit each), beside hyparquet-writer
 * alone writing the same rows to a file; and snapshot load time at 10,000 commits without and with
 * a checkpoint.
 */
import { EventLog } from "@tessera/core"
import { DeltaEventLog, loadSnapshot, writeCheckpoint } from "@tessera/store-delta"
import { Effect } from "effect"
import { parquetWriteBuffer } from "hyparquet-writer"
import * as NodeFs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { type Benchmark, chunks, perSecond, report, type Row, timed } from "./src/report.js"
import { history } from "./src/workload.js"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => NodeFs.mkdtemp(Path.join(Os.tmpdir(), "tessera-bench-delta-"))),
  (dir) => Effect.promise(() => NodeFs.rm(dir, { recursive: true, force: true }))
)

/** hyparquet-writer alone: the same event columns, encoded and written to one file per batch. */
const rawWrite = (dir: string, batches: ReadonlyArray<ReadonlyArray<ReturnType<typeof history>[number]>>) =>
  Effect.promise(async () => {
    let seq = 0
    for (const [i, batch] of batches.entries()) {
      const buffer = parquetWriteBuffer({
        columnData: [
          { name: "seq", data: batch.map(() => BigInt(++seq)), type: "INT64" },
          { name: "eventId", data: batch.map((e) => e.eventId), type: "STRING" },
          { name: "timestamp", data: batch.map((e) => new Date(e.timestamp)), type: "TIMESTAMP" },
          { name: "buildRequestId", data: batch.map((e) => e.buildRequestId), type: "STRING" },
          { name: "kind", data: batch.map((e) => e._tag), type: "STRING" },
          { name: "payload", data: batch.map((e) => JSON.stringify(e)), type: "STRING" }
        ]
      })
      await NodeFs.writeFile(Path.join(dir, `raw-${i}.parquet`), new Uint8Array(buffer))
    }
  })

const appendCase = (id: string, batchSize: number, commits: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const events = history(batchSize * commits)
      const batches = chunks(events, batchSize).slice(0, commits)
      const count = batches.reduce((sum, batch) => sum + batch.length, 0)
      const dir = yield* tempDir
      const [, deltaMs] = yield* timed(
        Effect.gen(function* () {
          const log = yield* EventLog.EventLog
          for (const batch of batches) yield* log.append(batch)
        }).pipe(Effect.provide(DeltaEventLog.layer({ path: Path.join(dir, "table") })))
      )
      const rawDir = Path.join(dir, "raw")
      yield* Effect.promise(() => NodeFs.mkdir(rawDir))
      const [, rawMs] = yield* timed(rawWrite(rawDir, batches))
      return {
        id,
        case: `append ${batchSize.toLocaleString("en-US")} event(s) x ${commits} commits`,
        unit: "events/s",
        value: perSecond(count, deltaMs),
        baseline: { name: "hyparquet-writer alone", value: perSecond(count, rawMs) },
        higherIsBetter: true
      } satisfies Row
    })
  )

/** A log-only table of `commits` commits (one add each), written directly: what snapshot loading reads. */
const syntheticLog = (dir: string, commits: number) =>
  Effect.promise(async () => {
    const log = Path.join(dir, "_delta_log")
    await NodeFs.mkdir(log, { recursive: true })
    const schema = JSON.stringify({
      type: "struct",
      fields: [{ name: "seq", type: "long", nullable: false, metadata: {} }]
    })
    const name = (v: number) => Path.join(log, `${String(v).padStart(20, "0")}.json`)
    await NodeFs.writeFile(
      name(0),
      [
        { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
        {
          metaData: {
            id: "bench",
            format: { provider: "parquet", options: {} },
            schemaString: schema,
            partitionColumns: [],
            configuration: {},
            createdTime: 0
          }
        }
      ]
        .map((action) => JSON.stringify(action))
        .join("\n")
    )
    for (let v = 1; v < commits; v++) {
      const add = {
        path: `part-${v}.parquet`,
        partitionValues: {},
        size: 1000,
        modificationTime: v,
        dataChange: true,
        stats: JSON.stringify({ numRecords: 1, minValues: { seq: v }, maxValues: { seq: v }, nullCount: { seq: 0 } })
      }
      await NodeFs.writeFile(
        name(v),
        `${JSON.stringify({ commitInfo: { timestamp: v } })}\n${JSON.stringify({ add })}\n`
      )
    }
  })

const snapshotCase = (commits: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* syntheticLog(dir, commits)
      const [plain, plainMs] = yield* timed(loadSnapshot(dir))
      // A checkpoint 100 versions before the head, as a writer checkpointing every 100 commits leaves it.
      yield* writeCheckpoint(yield* loadSnapshot(dir, { version: plain.version - 99 }))
      const [checkpointed, checkpointMs] = yield* timed(loadSnapshot(dir))
      if (checkpointed.files.length !== plain.files.length) {
        return yield* Effect.die(new Error("checkpointed snapshot differs from the JSON replay"))
      }
      return {
        id: "delta.snapshot.checkpointed",
        case: `snapshot load, ${commits.toLocaleString("en-US")} commits, checkpoint 99 behind`,
        unit: "ms",
        value: checkpointMs,
        baseline: { name: "JSON replay, no checkpoint", value: plainMs },
        higherIsBetter: false
      } satisfies Row
    })
  )

const bench: Benchmark = (args) =>
  Effect.gen(function* () {
    const commits = Number(args[0] ?? 10_000)
    const rows: Array<Row> = []
    rows.push(yield* appendCase("delta.append1", 1, 200))
    rows.push(yield* appendCase("delta.append100", 100, 50))
    rows.push(yield* appendCase("delta.append10k", 10_000, 3))
    rows.push(yield* snapshotCase(commits))
    yield* report("delta", rows)
  })

export default bench
