/**
 * Several OS processes share one SQLite log: every append lands exactly once with a gap-free seq, and
 * of the processes contending for a claim exactly one wins it, as the log and the views both show.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { EventFilter } from "@tessera/core"
import { SqliteEventLog } from "@tessera/store-sqlite"
import { Chunk, Effect, Stream } from "effect"

const claimer = fileURLToPath(new URL("./fixtures/sqlite-claimer.ts", import.meta.url))
const tsconfig = fileURLToPath(new URL("./fixtures/sqlite-tsconfig.json", import.meta.url))

interface Report {
  readonly worker: number
  readonly eventIds: ReadonlyArray<string>
  readonly seqs: ReadonlyArray<number>
  readonly wins: ReadonlyArray<string>
  readonly losses: ReadonlyArray<string>
}

interface Exit {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const run = (args: ReadonlyArray<string>) =>
  Effect.async<Exit>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", claimer, ...args], {
      env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-sqlite-mp-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

describe("SQLite store shared by OS processes", () => {
  it.scoped(
    "4 processes x 1,000 contended claims and plain appends: nothing lost or doubled, one winner per claim",
    () =>
      Effect.gen(function* () {
        const processes = 4
        const claims = 1000
        const partitions = 100
        const filename = path.join(yield* tempDir, "events.db")
        const exits = yield* Effect.forEach(
          Array.from({ length: processes }, (_, worker) => worker),
          (worker) => run([filename, String(worker), String(claims), String(partitions)]),
          { concurrency: "unbounded" }
        )
        for (const exit of exits) {
          expect(exit.stderr).not.toMatch(/locked|busy/i)
          expect(exit.code, exit.stderr).toBe(0)
        }
        const reports = exits.map((exit) => JSON.parse(exit.stdout) as Report)

        const log = yield* SqliteEventLog.make({ filename })
        const events = Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream(EventFilter.all)))
        const head = yield* log.head

        // Gap-free seq, and exactly the events the processes were told they appended, once each.
        expect(events.map((e) => e.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1))
        const reportedSeqs = reports.flatMap((report) => report.seqs).sort((a, b) => a - b)
        expect(reportedSeqs).toEqual(events.map((e) => e.seq))
        const reportedIds = new Set(reports.flatMap((report) => report.eventIds))
        expect(reportedIds.size).toBe(head)
        expect(new Set(events.map((e) => e.event.eventId))).toEqual(reportedIds)
        for (const report of reports) {
          const bySeq = new Map(events.map((e) => [e.seq, e.event.eventId]))
          expect(report.seqs.map((seq) => bySeq.get(seq))).toEqual(report.eventIds)
        }

        // Every claim was contended by every process and won by exactly one.
        const wins = reports.flatMap((report) => report.wins)
        expect(wins).toHaveLength(claims)
        expect(new Set(wins).size).toBe(claims)
        for (const report of reports) {
          expect(report.wins.length + report.losses.length).toBe(claims)
          expect(report.losses.filter((run) => report.wins.includes(run))).toEqual([])
        }
        const scheduledRuns = events.flatMap((e) =>
          e.event._tag === "JobRunStatusChanged" && e.event.status === "SCHEDULED" ? [e.event.jobRunId] : []
        )
        expect(scheduledRuns.sort()).toEqual([...wins].sort())

        // Per partition, claims never overlap: SCHEDULED, BUILDING, AVAILABLE by one run, then the next run.
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
          expect(runs).toEqual(Array.from({ length: claims / partitions }, (_, round) => `p${ref.slice(9)}-r${round}`))
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
