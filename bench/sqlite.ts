/**
 * SQLite store: durable single-event appends and 1,000-event batch appends, each beside raw
 * better-sqlite3 inserting the same event rows into the same `events` table (same indexes, WAL,
 * synchronous=FULL, one transaction per append); and the latency of a one-partition status lookup
 * with a large log, beside the same primary-key SELECT through better-sqlite3.
 *
 * `npm run bench -- sqlite [lookupEvents=1000000] [singleAppends=2000] [batchEvents=100000]`
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { BuildEvent, EventCodec } from "@tessera/core"
import { SqliteEventLog } from "@tessera/store-sqlite"
import { Effect } from "effect"
import { RawDatabase } from "./src/sqlite.js"
import { type Benchmark, chunks, percentile, perSecond, report, timed } from "./src/report.js"
import { history } from "./src/workload.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-bench-sqlite-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

type Event = BuildEvent.BuildEvent

/** A store file and a raw file with the same schema: the raw one is made by the store, then closed. */
const files = (dir: string, name: string) =>
  Effect.gen(function* () {
    const raw = path.join(dir, `${name}-raw.db`)
    yield* Effect.scoped(SqliteEventLog.make({ filename: raw }))
    const db = new RawDatabase(raw)
    db.pragma("journal_mode = WAL")
    db.pragma("synchronous = FULL")
    yield* Effect.addFinalizer(() => Effect.sync(() => db.close()))
    const insert = db.prepare(
      "INSERT INTO events (seq, event_id, timestamp, build_request_id, kind, partition_ref, job_run_id, payload) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    const rowsOf = (events: ReadonlyArray<Event>, firstSeq: number) =>
      events.map((event, i) => [
        firstSeq + i,
        event.eventId,
        event.timestamp,
        event.buildRequestId,
        event._tag,
        BuildEvent.partitionRefOf(event) ?? null,
        BuildEvent.jobRunIdOf(event) ?? null,
        EventCodec.encode(event)
      ])
    return { store: path.join(dir, `${name}.db`), db, insert, rowsOf }
  })

const bench: Benchmark = (args) =>
  Effect.scoped(
    Effect.gen(function* () {
      const lookupEvents = Number(args[0] ?? 1_000_000)
      const singleAppends = Number(args[1] ?? 2_000)
      const batchEvents = Number(args[2] ?? 100_000)
      const dir = yield* tempDir
      process.stdout.write(
        `sqlite bench: ${singleAppends} single appends, ${batchEvents} events in 1,000-event batches, ` +
          `lookups with ${lookupEvents} events in the log; WAL, synchronous=FULL on both sides, in ${dir}\n`
      )

      // Durable single-event appends: one transaction and one fsync each.
      const singles = history(singleAppends)
      const single = yield* files(dir, "single")
      const singleLog = yield* SqliteEventLog.make({ filename: single.store })
      const [, singleMs] = yield* timed(
        Effect.forEach(singles, (event) => singleLog.append([event]), { discard: true })
      )
      // The same appends from 16 fibers at once, each appending its share one event at a time.
      const lanes = Array.from({ length: 16 }, (_, lane) => history(Math.ceil(singleAppends / 16), `l${lane}-`))
      const concurrentLog = yield* SqliteEventLog.make({ filename: (yield* files(dir, "concurrent")).store })
      const [, concurrentMs] = yield* timed(
        Effect.forEach(
          lanes,
          (lane) => Effect.forEach(lane, (event) => concurrentLog.append([event]), { discard: true }),
          { concurrency: "unbounded", discard: true }
        )
      )
      const singleRows = single.rowsOf(singles, 1)
      const [, rawSingleMs] = yield* timed(
        Effect.sync(() => {
          for (const row of singleRows) single.insert.run(...row)
        })
      )

      // 1,000-event batches: one transaction each.
      const batched = chunks(history(batchEvents), 1000)
      const batch = yield* files(dir, "batch")
      const batchLog = yield* SqliteEventLog.make({ filename: batch.store })
      const [, batchMs] = yield* timed(Effect.forEach(batched, (events) => batchLog.append(events), { discard: true }))
      let seq = 1
      const batchRows = batched.map((events) => {
        const rows = batch.rowsOf(events, seq)
        seq += events.length
        return rows
      })
      const insertBatch = batch.db.transaction((rows: ReadonlyArray<ReadonlyArray<unknown>>) => {
        for (const row of rows) batch.insert.run(...row)
      })
      const [, rawBatchMs] = yield* timed(
        Effect.sync(() => {
          for (const rows of batchRows) insertBatch(rows)
        })
      )

      // Status of one partition with a large log behind it.
      const lookupFile = path.join(dir, "lookup.db")
      const lookupLog = yield* SqliteEventLog.make({ filename: lookupFile })
      const filled = history(lookupEvents)
      const [, fillMs] = yield* timed(
        Effect.forEach(chunks(filled, 1000), (events) => lookupLog.append(events), { discard: true })
      )
      const refs = [
        ...new Set(filled.flatMap((event) => (event._tag === "PartitionStatusChanged" ? [event.partitionRef] : [])))
      ]
      filled.length = 0
      const samples = 10_000
      const picks = Array.from({ length: samples }, (_, i) => refs[(i * 7919) % refs.length]!)
      const storeLatency: Array<number> = []
      for (const ref of picks) {
        const start = performance.now()
        const page = yield* lookupLog.partitions({ refs: [ref] })
        storeLatency.push((performance.now() - start) * 1000)
        if (page.items[0] === undefined) return yield* Effect.dieMessage(`no catalog row for ${ref}`)
      }
      const raw = new RawDatabase(lookupFile)
      yield* Effect.addFinalizer(() => Effect.sync(() => raw.close()))
      const select = raw.prepare("SELECT data FROM partitions WHERE ref = ?")
      const rawLatency: Array<number> = []
      for (const ref of picks) {
        const start = performance.now()
        JSON.parse((select.get(ref) as { data: string }).data)
        rawLatency.push((performance.now() - start) * 1000)
      }

      yield* report("sqlite", [
        {
          id: "sqlite.append1",
          case: `append 1 event, durable (x ${singleAppends})`,
          unit: "events/s",
          value: perSecond(singleAppends, singleMs),
          baseline: { name: "better-sqlite3 INSERT, autocommit", value: perSecond(singleAppends, rawSingleMs) },
          higherIsBetter: true
        },
        {
          id: "sqlite.append1.concurrent16",
          case: `append 1 event, durable, 16 fibers at once (x ${singleAppends})`,
          unit: "events/s",
          value: perSecond(singleAppends, concurrentMs),
          baseline: { name: "better-sqlite3 INSERT, autocommit", value: perSecond(singleAppends, rawSingleMs) },
          higherIsBetter: true
        },
        {
          id: "sqlite.batch1000",
          case: `append 1,000-event batches (${batchEvents})`,
          unit: "events/s",
          value: perSecond(batchEvents, batchMs),
          baseline: { name: "better-sqlite3 1,000 INSERTs per transaction", value: perSecond(batchEvents, rawBatchMs) },
          higherIsBetter: true
        },
        {
          id: "sqlite.fill",
          case: `fill: ${lookupEvents} events in 1,000-event batches`,
          unit: "events/s",
          value: perSecond(lookupEvents, fillMs),
          higherIsBetter: true
        },
        {
          id: "sqlite.status.p50",
          case: `partition status p50 (${lookupEvents} events, ${refs.length} partitions)`,
          unit: "µs",
          value: percentile(storeLatency, 50),
          baseline: { name: "better-sqlite3 SELECT by ref + JSON.parse", value: percentile(rawLatency, 50) },
          higherIsBetter: false
        },
        {
          id: "sqlite.status.p99",
          case: `partition status p99 (${lookupEvents} events, ${refs.length} partitions)`,
          unit: "µs",
          value: percentile(storeLatency, 99),
          baseline: { name: "better-sqlite3 SELECT by ref + JSON.parse", value: percentile(rawLatency, 99) },
          higherIsBetter: false
        }
      ])
    })
  )

export default bench
