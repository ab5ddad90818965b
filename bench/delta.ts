/**
 * Delta store: event-log appends of 1, 100 and 10,000 events (one commit each), beside hyparquet-writer
 * alone writing the same rows to a file; snapshot load time at 10,000 commits without and with a
 * checkpoint; and a 1M-row table of 5 columns (long, string, double, timestamp, boolean) written with
 * `append` (from columns and from row objects) and read with `readArrow` and `readAll`, beside DuckDB
 * writing and reading the same data, and the peak memory of `readArrow` in a process of its own.
 */
import { DuckDBInstance } from "@duckdb/node-api"
import { EventLog } from "@tessera/core"
import {
  append,
  type ColumnBatch,
  createTable,
  DeltaEventLog,
  loadSnapshot,
  readAll,
  readArrow,
  type Row as DeltaRow,
  type StructType,
  writeCheckpoint
} from "@tessera/store-delta"
import { Context, Effect, Layer } from "effect"
import { parquetWriteBuffer } from "hyparquet-writer"
import { execFile as execFileCallback } from "node:child_process"
import * as NodeFsSync from "node:fs"
import * as NodeFs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { type Benchmark, chunks, perSecond, report, type Row, timed } from "./src/report.js"
import { history } from "./src/workload.js"

const execFile = promisify(execFileCallback)

const tempDir = Effect.acquireRelease(
  Effect.promise(() => NodeFs.mkdtemp(Path.join(Os.tmpdir(), "tessera-bench-delta-"))),
  (dir) => Effect.promise(() => NodeFs.rm(dir, { recursive: true, force: true }))
)

type Events = ReadonlyArray<ReturnType<typeof history>[number]>

/** hyparquet-writer encoding the event columns the store writes (bar the two it derives), one buffer per batch. */
const rawEncode = (batch: Events, firstSeq: number) =>
  parquetWriteBuffer({
    columnData: [
      { name: "seq", data: batch.map((_, i) => BigInt(firstSeq + i)), type: "INT64" },
      { name: "eventId", data: batch.map((e) => e.eventId), type: "STRING" },
      { name: "timestamp", data: batch.map((e) => new Date(e.timestamp)), type: "TIMESTAMP" },
      { name: "buildRequestId", data: batch.map((e) => e.buildRequestId), type: "STRING" },
      { name: "kind", data: batch.map((e) => e._tag), type: "STRING" },
      { name: "payload", data: batch.map((e) => JSON.stringify(e)), type: "STRING" }
    ]
  })

const fsync = promisify(NodeFsSync.fsync)

/**
 * hyparquet-writer alone, durably: each batch's file is created, written, and fsynced together with
 * its folder (a new file's name is in the folder, so the folder is flushed once per file), both
 * flushes at once as the store's own data-file write does them. That is the least a raw write that
 * survives a power loss does, as the other stores' baselines (SQLite at synchronous=FULL, PostgreSQL
 * autocommit) do. `durable: false` is the previous baseline, the file written and not flushed.
 */
const rawWrite = (dir: string, batches: ReadonlyArray<Events>, durable: boolean) =>
  Effect.promise(async () => {
    let seq = 1
    for (const [i, batch] of batches.entries()) {
      const bytes = new Uint8Array(rawEncode(batch, seq))
      seq += batch.length
      const path = Path.join(dir, `raw-${i}.parquet`)
      if (!durable) {
        await NodeFs.writeFile(path, bytes)
        continue
      }
      const fd = NodeFsSync.openSync(path, "wx")
      const folder = NodeFsSync.openSync(dir, "r")
      try {
        NodeFsSync.writeSync(fd, bytes)
        await Promise.all([fsync(fd), fsync(folder)])
      } finally {
        NodeFsSync.closeSync(fd)
        NodeFsSync.closeSync(folder)
      }
    }
  })

const appendCase = (id: string, batchSize: number, commits: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const events = history(batchSize * commits)
      const batches = chunks(events, batchSize).slice(0, commits)
      const count = batches.reduce((sum, batch) => sum + batch.length, 0)
      const dir = yield* tempDir
      // The log is opened (its table created) before the clock starts: the case times appends, as the
      // baseline's clock starts with its folder made.
      const context = yield* Layer.build(DeltaEventLog.layer({ path: Path.join(dir, "table") }))
      const log = Context.get(context, EventLog.EventLog)
      const [, deltaMs] = yield* timed(Effect.forEach(batches, (batch) => log.append(batch), { discard: true }))
      const raw = (name: string, durable: boolean) =>
        Effect.gen(function* () {
          const rawDir = Path.join(dir, name)
          yield* Effect.promise(() => NodeFs.mkdir(rawDir))
          const [, ms] = yield* timed(rawWrite(rawDir, batches, durable))
          return perSecond(count, ms)
        })
      const durable = yield* raw("raw", true)
      const unflushed = yield* raw("raw-unflushed", false)
      const label = `append ${batchSize.toLocaleString("en-US")} event(s) x ${commits} commits`
      const value = perSecond(count, deltaMs)
      return [
        {
          id,
          case: label,
          unit: "events/s",
          value,
          baseline: { name: "hyparquet-writer alone, file and folder fsynced", value: durable },
          higherIsBetter: true
        },
        {
          id: `${id}.unflushed`,
          case: `${label}, against a write without fsync`,
          unit: "events/s",
          value,
          baseline: { name: "hyparquet-writer alone, no fsync", value: unflushed },
          higherIsBetter: true
        }
      ] satisfies ReadonlyArray<Row>
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

/** A plain replay of the same JSON commits: read every file, parse every line, keep the newest add per path. */
const rawReplay = (dir: string, commits: number) =>
  Effect.promise(async () => {
    const files = new Map<string, unknown>()
    const names = Array.from({ length: commits }, (_, v) =>
      Path.join(dir, "_delta_log", `${String(v).padStart(20, "0")}.json`)
    )
    const texts = await Promise.all(names.map((name) => NodeFs.readFile(name, "utf8")))
    for (const text of texts) {
      for (const line of text.split("\n")) {
        if (line === "") continue
        const action = JSON.parse(line) as { add?: { path: string }; remove?: { path: string } }
        if (action.add) files.set(action.add.path, action.add)
        if (action.remove) files.delete(action.remove.path)
      }
    }
    return files.size
  })

const snapshotNoCheckpointCase = (commits: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* syntheticLog(dir, commits)
      const [snapshot, ms] = yield* timed(loadSnapshot(dir))
      const [rawFiles, rawMs] = yield* timed(rawReplay(dir, commits))
      if (rawFiles !== snapshot.files.length) return yield* Effect.die(new Error("the replays disagree"))
      return {
        id: "delta.snapshot10k",
        case: `snapshot load, ${commits.toLocaleString("en-US")} JSON commits, no checkpoint`,
        unit: "ms",
        value: ms,
        baseline: { name: "plain JSON replay", value: rawMs },
        higherIsBetter: false
      } satisfies Row
    })
  )

const wideSchema: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "name", type: "string", nullable: true, metadata: {} },
    { name: "score", type: "double", nullable: true, metadata: {} },
    { name: "at", type: "timestamp", nullable: true, metadata: {} },
    { name: "ok", type: "boolean", nullable: true, metadata: {} }
  ]
}

const wideRows = (count: number): ReadonlyArray<DeltaRow> =>
  Array.from({ length: count }, (_, i) => ({
    id: BigInt(i),
    name: `name-${i % 1000}`,
    score: i / 7,
    at: new Date(1_700_000_000_000 + i * 1000),
    ok: i % 3 === 0
  }))

/** The same data as whole columns: typed arrays for the numbers, longs and timestamps (microseconds). */
const wideColumns = (count: number): ColumnBatch => ({
  columns: {
    id: BigInt64Array.from({ length: count }, (_, i) => BigInt(i)),
    name: Array.from({ length: count }, (_, i) => `name-${i % 1000}`),
    score: Float64Array.from({ length: count }, (_, i) => i / 7),
    at: BigInt64Array.from({ length: count }, (_, i) => BigInt(1_700_000_000_000 + i * 1000) * 1000n),
    ok: Array.from({ length: count }, (_, i) => i % 3 === 0)
  }
})

/** `readArrow` of the table in a fresh process: its peak RSS above the level after a forced GC. */
const readMemory = (table: string) =>
  Effect.promise(async () => {
    const script = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "src", "deltaReadMemory.ts")
    const { stdout } = await execFile(process.execPath, ["--expose-gc", "--import", "tsx", script, table], {
      maxBuffer: 1024 * 1024
    })
    return JSON.parse(stdout) as { rows: number; peakRssDelta: number; arrowBytes: number }
  })

const duckdbSelect = `SELECT range AS id, 'name-' || (range % 1000) AS name, range / 7 AS score,
  make_timestamp(1700000000000000 + range * 1000000)::TIMESTAMPTZ AS at, range % 3 = 0 AS ok`

/** 1M rows: written by `append` and by DuckDB's COPY, then read back by each from the same files. */
const millionCases = (count: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const dir = yield* tempDir
      const columns = wideColumns(count)
      const table = Path.join(dir, "table")
      yield* createTable(table, { schema: wideSchema })
      const [, writeMs] = yield* timed(append(table, columns))
      const rows = wideRows(count)
      const rowsTable = Path.join(dir, "rows-table")
      yield* createTable(rowsTable, { schema: wideSchema })
      const [, writeRowsMs] = yield* timed(append(rowsTable, rows))
      const instance = yield* Effect.acquireRelease(
        Effect.promise(() => DuckDBInstance.create(":memory:")),
        (db) => Effect.sync(() => db.closeSync())
      )
      const connection = yield* Effect.acquireRelease(
        Effect.promise(() => instance.connect()),
        (c) => Effect.sync(() => c.closeSync())
      )
      const duckFile = Path.join(dir, "duck.parquet")
      const [, duckWriteMs] = yield* timed(
        Effect.promise(() =>
          connection.run(`COPY (${duckdbSelect} FROM range(${count})) TO '${duckFile}' (FORMAT parquet)`)
        )
      )
      const snapshot = yield* loadSnapshot(table)
      const files = snapshot.files.map((file) => `'${file.absolutePath}'`).join(", ")
      const [arrow, arrowMs] = yield* timed(readArrow(snapshot))
      const [all, rowsMs] = yield* timed(readAll(snapshot))
      const [duckColumns, duckColumnsMs] = yield* timed(
        Effect.promise(async () =>
          (await connection.runAndReadAll(`SELECT * FROM read_parquet([${files}])`)).getColumns()
        )
      )
      const [duckRows, duckRowsMs] = yield* timed(
        Effect.promise(async () =>
          (await connection.runAndReadAll(`SELECT * FROM read_parquet([${files}])`)).getRowObjects()
        )
      )
      const memory = yield* readMemory(table)
      if (
        memory.rows !== count ||
        arrow.numRows !== count ||
        all.length !== count ||
        duckRows.length !== count ||
        duckColumns[0]?.length !== count
      ) {
        return yield* Effect.die(new Error("a reader lost rows"))
      }
      const million = count.toLocaleString("en-US")
      const rate = (id: string, label: string, ms: number, baseline: string, baselineMs: number): Row => ({
        id,
        case: `${label}, ${million} rows x 5 columns`,
        unit: "rows/s",
        value: perSecond(count, ms),
        baseline: { name: baseline, value: perSecond(count, baselineMs) },
        higherIsBetter: true
      })
      return [
        rate("delta.read1m.arrow", "readArrow", arrowMs, "DuckDB read_parquet, columns", duckColumnsMs),
        rate("delta.read1m.rows", "readAll", rowsMs, "DuckDB read_parquet, row objects", duckRowsMs),
        rate("delta.write1m", "one append of columns", writeMs, "DuckDB COPY ... TO parquet", duckWriteMs),
        rate("delta.write1m.rows", "one append of row objects", writeRowsMs, "DuckDB COPY ... TO parquet", duckWriteMs),
        {
          id: "delta.read1m.memory",
          case: `readArrow peak RSS above the post-GC level, ${million} rows x 5 columns (own process)`,
          unit: "MiB",
          value: memory.peakRssDelta / 2 ** 20,
          baseline: { name: "the Arrow table's buffers", value: memory.arrowBytes / 2 ** 20 },
          higherIsBetter: false
        }
      ] satisfies ReadonlyArray<Row>
    })
  )

const bench: Benchmark = (args) =>
  Effect.gen(function* () {
    // npm run bench -- delta [commits] [rows]; 0 commits or 0 rows leaves those cases out.
    const commits = Number(args[0] ?? 10_000)
    const million = Number(args[1] ?? 1_000_000)
    const rows: Array<Row> = []
    rows.push(...(yield* appendCase("delta.append1", 1, 200)))
    rows.push(...(yield* appendCase("delta.append100", 100, 50)))
    rows.push(...(yield* appendCase("delta.append10k", 10_000, 3)))
    if (commits > 0) {
      rows.push(yield* snapshotCase(commits))
      rows.push(yield* snapshotNoCheckpointCase(commits))
    }
    if (million > 0) rows.push(...(yield* millionCases(million)))
    yield* report("delta", rows)
  })

export default bench
