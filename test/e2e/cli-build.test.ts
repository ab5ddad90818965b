/**
 * The `tessera` command end to end: real OS processes sharing one SQLite log. After every scenario,
 * no partition was ever BUILDING under two live job runs at once.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Invariants from "../src/invariants.js"
import {
  availableCounts,
  events,
  jobRunStatuses,
  registerRaw,
  start,
  tempDir,
  tessera,
  waitForLog
} from "./cli-process.js"

const checkLog = (dir: string) =>
  Effect.gen(function* () {
    expect(Invariants.overlappingClaims(yield* events(dir))).toEqual([])
  })

const running = (buildRequestId: string) => (log: Parameters<typeof jobRunStatuses>[0]) =>
  jobRunStatuses(log, buildRequestId).some((event) => event.status === "RUNNING")

describe("tessera build in OS processes", () => {
  it.scopedLive(
    "two processes building overlapping partitions build each once; a build after completion builds nothing",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* registerRaw(dir, [1, 2, 3, 4, 5, 6])
        // Slow cleaning keeps both processes busy at once, so they meet on the shared partitions.
        const slow = { CLI_TEST_SLEEP_MS: "300" }
        const [a, b] = yield* Effect.all(
          [
            tessera(dir, ["build", "weekly/end=5", "--id", "a"], slow),
            tessera(dir, ["build", "weekly/end=6", "daily/date=4", "--id", "b"], slow)
          ],
          { concurrency: "unbounded" }
        )
        expect(a.code, a.stderr).toBe(0)
        expect(b.code, b.stderr).toBe(0)
        const counts = availableCounts(yield* events(dir))
        expect(Object.fromEntries(counts)).toEqual({
          "clean/date=3": 1,
          "clean/date=4": 1,
          "clean/date=5": 1,
          "clean/date=6": 1,
          "daily/date=3": 1,
          "daily/date=4": 1,
          "daily/date=5": 1,
          "daily/date=6": 1,
          "weekly/end=5": 1,
          "weekly/end=6": 1
        })

        const again = yield* tessera(dir, ["build", "weekly/end=6", "--json"])
        expect(again.code, again.stderr).toBe(0)
        expect(JSON.parse(again.stdout)).toMatchObject({ status: "COMPLETED", built: 0 })
        const plain = yield* tessera(dir, ["build", "weekly/end=5"])
        expect(plain.stdout).toContain("Nothing to build")
        expect(availableCounts(yield* events(dir)).get("weekly/end=6")).toBe(1)
        yield* checkLog(dir)
      }),
    120_000
  )

  it.scopedLive(
    "kill -9 mid-job, then `tessera resume` in another process finishes the build after the lease",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* registerRaw(dir, [1])
        const doomed = yield* start(dir, ["build", "daily/date=1", "--id", "crash", "--lease", "1500"], {
          CLI_TEST_SLEEP_MS: "600000"
        })
        yield* waitForLog(dir, running("crash"))
        doomed.child.kill("SIGKILL")
        expect((yield* doomed.exit).code).toBe(null)

        const resumed = yield* tessera(dir, ["resume", "crash", "--lease", "1500"])
        expect(resumed.code, resumed.stderr).toBe(0)
        const log = yield* events(dir)
        expect(Object.fromEntries(availableCounts(log))).toEqual({ "clean/date=1": 1, "daily/date=1": 1 })
        const status = yield* tessera(dir, ["status", "--build", "crash", "--json"])
        expect(JSON.parse(status.stdout).build.status).toBe("COMPLETED")
        yield* checkLog(dir)
      }),
    120_000
  )

  it.scopedLive(
    "`tessera cancel` from another process releases the partitions to a waiting delegator",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* registerRaw(dir, [1])
        const holder = yield* start(dir, ["build", "clean/date=1", "--id", "holder"], { CLI_TEST_SLEEP_MS: "600000" })
        yield* waitForLog(dir, running("holder"))
        const waiter = yield* start(dir, ["build", "clean/date=1", "--id", "waiter"])
        yield* waitForLog(dir, (log) =>
          log.some(
            ({ event }) => event._tag === "Delegated" && event.buildRequestId === "waiter" && event.mode === "active"
          )
        )
        const cancelled = yield* tessera(dir, ["cancel", "holder"])
        expect(cancelled.code, cancelled.stderr).toBe(0)

        const held = yield* holder.exit
        expect(held.code).toBe(1)
        expect(held.stderr).toContain("build holder CANCELLED")
        const waited = yield* waiter.exit
        expect(waited.code, waited.stderr).toBe(0)
        const log = yield* events(dir)
        const available = log.filter(
          ({ event }) => event._tag === "PartitionStatusChanged" && event.status === "AVAILABLE"
        )
        expect(available.map(({ event }) => event.buildRequestId)).toEqual(["waiter"])
        yield* checkLog(dir)
      }),
    120_000
  )

  it.scopedLive(
    "Ctrl-C mid-job exits 130 saying so, with the build CANCELLED in the log; SIGTERM with --json says it in JSON",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* registerRaw(dir, [1, 2])
        const slow = { CLI_TEST_SLEEP_MS: "600000" }
        const statusOf = (id: string) =>
          Effect.map(
            tessera(dir, ["status", "--build", id, "--json"]),
            (exit) =>
              JSON.parse(exit.stdout) as {
                readonly build: { readonly status: string }
                readonly jobRuns: ReadonlyArray<{ readonly status: string }>
              }
          )

        const interrupted = yield* start(dir, ["build", "clean/date=1", "--id", "ctrl-c"], slow)
        yield* waitForLog(dir, running("ctrl-c"))
        interrupted.child.kill("SIGINT")
        const exit = yield* interrupted.exit
        expect(exit.code, exit.stderr).toBe(130)
        expect(exit.stderr.trim().split("\n")).toEqual([
          expect.stringMatching(
            /^error: interrupted by SIGINT or SIGTERM: a build this command was running is CANCELLED/
          )
        ])
        const cancelled = yield* statusOf("ctrl-c")
        expect(cancelled.build.status).toBe("CANCELLED")
        expect(cancelled.jobRuns.map((run) => run.status)).toEqual(["CANCELLED"])

        const terminated = yield* start(dir, ["build", "clean/date=2", "--id", "term", "--json"], slow)
        yield* waitForLog(dir, running("term"))
        terminated.child.kill("SIGTERM")
        const ended = yield* terminated.exit
        expect(ended.code, ended.stderr).toBe(130)
        expect(JSON.parse(ended.stdout.trim().split("\n").at(-1)!)).toMatchObject({
          error: { _tag: "Interrupted", message: expect.stringContaining("interrupted by SIGINT or SIGTERM") }
        })
        expect((yield* statusOf("term")).build.status).toBe("CANCELLED")
        yield* checkLog(dir)
      }),
    120_000
  )

  it.scopedLive(
    "a failing job is retried, then fails its downstream with exit 1",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* registerRaw(dir, [1])
        const failed = yield* tessera(
          dir,
          ["build", "daily/date=1", "--id", "doomed", "--retries", "1", "--retry-delay", "10"],
          { CLI_TEST_FAIL: "clean" }
        )
        expect(failed.code).toBe(1)
        expect(failed.stderr).toContain("upstream clean/date=1 failed")
        const attempts = jobRunStatuses(yield* events(dir), "doomed")
          .filter((event) => event.jobName === "clean" && event.status === "FAILED")
          .map((event) => event.attempt)
        expect(attempts).toEqual([1, 2])
        yield* checkLog(dir)
      }),
    120_000
  )

  it.scopedLive(
    "bad input exits 2 with the error's message",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
          [["build", "sales//date=1"], "invalid partition ref"],
          [["resume", "nope"], "no build request nope in the log"],
          [["build", "clean/date=9"], "source partitions are not AVAILABLE: raw/date=9"],
          [["build", "--concurrency", "0", "clean/date=9"], "--concurrency must be a whole number above 0"],
          [["build", "--graph", "missing.ts", "clean/date=9"], "cannot load the graph module"],
          [["status", "--store", "mysql://x"], "invalid store"]
        ]
        const exits = yield* Effect.forEach(cases, ([args]) => tessera(dir, args), { concurrency: 3 })
        for (const [i, [args, message]] of cases.entries()) {
          const exit = exits[i]!
          expect(exit.code, `${args.join(" ")}: ${exit.stderr}`).toBe(2)
          expect(exit.stderr).toContain(message)
          expect(exit.stderr).not.toMatch(/\n\s+at /)
        }
        yield* checkLog(dir)
      }),
    120_000
  )

  it.scopedLive("status of a partition whose input was rebuilt after it says it is stale, as a dry run would", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* registerRaw(dir, [1])
      expect((yield* tessera(dir, ["build", "clean/date=1"])).code).toBe(0)
      const fresh = yield* tessera(dir, ["status", "clean/date=1"])
      expect(fresh.stdout).toMatch(/^clean\/date=1 {2}AVAILABLE\n/)
      // New data for the source: clean/date=1 was built from the old one.
      const source = yield* tessera(dir, ["register", "raw/date=1", "--path", "/data/raw/1.csv", "--checksum", "new"])
      expect(source.code, source.stderr).toBe(0)
      const stale = yield* tessera(dir, ["status", "clean/date=1"])
      expect(stale.stdout).toContain("clean/date=1  AVAILABLE, stale: input raw/date=1 was rebuilt after it")
      const json = JSON.parse((yield* tessera(dir, ["status", "clean/date=1", "--json"])).stdout) as {
        stale: Record<string, string>
      }
      expect(json.stale).toEqual({ "clean/date=1": "input raw/date=1 was rebuilt after it" })
      const plan = yield* tessera(dir, ["build", "clean/date=1", "--dry-run"])
      expect(plan.stdout).toContain("input raw/date=1 was rebuilt after it")
    })
  )
})
