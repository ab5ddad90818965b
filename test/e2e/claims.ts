/**
 * Several OS processes share one log: every append lands exactly once with a gap-free seq, and of
 * the processes contending for a claim exactly one wins it, as the log and the views both show.
 * Written once, run on each store that several processes can share.
 */
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@tessera/cli"
import { EventFilter, EventLog } from "@tessera/core"
import { Chunk, Effect, Either, Layer, type Scope, Stream } from "effect"
import { runScript } from "../src/processes.js"

const claimer = fileURLToPath(new URL("./fixtures/claimer.ts", import.meta.url))

interface Report {
  readonly worker: number
  readonly eventIds: ReadonlyArray<string>
  readonly seqs: ReadonlyArray<number>
  readonly wins: ReadonlyArray<string>
  readonly losses: ReadonlyArray<string>
}

export interface ClaimsOptions {
  /** A `--store` value for a fresh, empty log, alive for the scope. */
  readonly store: Effect.Effect<string, never, Scope.Scope>
  readonly processes: number
  readonly claims: number
  readonly partitions: number
}

export const multiProcessClaims = (name: string, options: ClaimsOptions) =>
  describe(`${name} shared by OS processes`, () => {
    const { processes, claims, partitions } = options
    it.scopedLive(
      `${processes} processes x ${claims} contended claims and plain appends: nothing lost or doubled, one winner per claim`,
      () =>
        Effect.gen(function* () {
          const store = yield* options.store
          const exits = yield* Effect.forEach(
            Array.from({ length: processes }, (_, worker) => worker),
            (worker) => runScript(claimer, [store, String(worker), String(claims), String(partitions)]),
            { concurrency: "unbounded" }
          )
          for (const exit of exits) {
            expect(exit.stderr).not.toMatch(/locked|busy/i)
            expect(exit.code, exit.stderr).toBe(0)
          }
          const reports = exits.map((exit) => JSON.parse(exit.stdout) as Report)

          const log = yield* EventLog.EventLog.pipe(
            Effect.provide(yield* Layer.build(Store.layer(Either.getOrThrow(Store.parse(store, process.cwd())))))
          )
          const events = Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream(EventFilter.all)))
          const head = yield* log.head

          // Gap-free seq, and exactly the events the processes were told they appended, once each.
          expect(events.map((e) => e.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1))
          const reportedSeqs = reports.flatMap((report) => report.seqs).sort((a, b) => a - b)
          expect(reportedSeqs).toEqual(events.map((e) => e.seq))
          const reportedIds = new Set(reports.flatMap((report) => report.eventIds))
          expect(reportedIds.size).toBe(head)
          const bySeq = new Map(events.map((e) => [e.seq, e.event.eventId]))
          for (const report of reports) expect(report.seqs.map((seq) => bySeq.get(seq))).toEqual(report.eventIds)

          // Every claim was contended by every process and won by exactly one.
          const wins = reports.flatMap((report) => report.wins)
          expect(wins).toHaveLength(claims)
          expect(new Set(wins).size).toBe(claims)
          for (const report of reports) {
            expect(report.wins.length + report.losses.length).toBe(claims)
            expect(report.losses.filter((run) => report.wins.includes(run))).toEqual([])
          }
          const scheduled = events.flatMap((e) =>
            e.event._tag === "JobRunStatusChanged" && e.event.status === "SCHEDULED" ? [e.event.jobRunId] : []
          )
          expect(scheduled.sort()).toEqual([...wins].sort())

          // Per partition, claims never overlap: SCHEDULED, BUILDING, AVAILABLE by one run, then the next.
          const histories = new Map<string, Array<string>>()
          for (const { event } of events) {
            if (event._tag !== "PartitionStatusChanged") continue
            const history = histories.get(event.partitionRef) ?? []
            history.push(`${event.status}:${event.jobRunId}`)
            histories.set(event.partitionRef, history)
          }
          expect(histories.size).toBe(partitions)
          for (const [ref, history] of histories) {
            const runs = history.filter((_, i) => i % 3 === 0).map((entry) => entry.split(":")[1]!)
            expect(history).toEqual(runs.flatMap((run) => [`SCHEDULED:${run}`, `BUILDING:${run}`, `AVAILABLE:${run}`]))
            expect(runs).toEqual(
              Array.from({ length: claims / partitions }, (_, round) => `p${ref.slice(9)}-r${round}`)
            )
          }

          // The views agree with the log.
          const rows = (yield* log.partitions({ prefix: "claims/" })).items
          expect(rows).toHaveLength(partitions)
          for (const row of rows) {
            expect(row).toMatchObject({
              status: "AVAILABLE",
              jobRunId: `p${row.ref.slice(9)}-r${claims / partitions - 1}`
            })
          }
          const completed = yield* log.jobRuns({ statuses: ["COMPLETED"], limit: 10_000 })
          expect(completed.items.map((row) => row.jobRunId).sort()).toEqual([...wins].sort())
        }),
      180_000
    )
  })
