/**
 * Scheduler scenarios through the public API, written once and run on each store.
 */
import { describe, expect, it } from "@effect/vitest"
import { Builds, EventFilter, EventLog, Graph, Job, PartitionRef, pattern } from "@tessera/core"
import { Chunk, Effect, Layer, Stream } from "effect"
import * as Graphs from "../src/graphs.js"
import * as Invariants from "../src/invariants.js"

const days = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** Registers raw days as sources, the way a file-arrival sensor would. */
const registerRaw = (numbers: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const builds = yield* Builds.Builds
    for (const n of numbers)
      yield* builds.registerSource(`raw/date=${n}`, { path: `/data/raw/${n}.csv`, checksum: `c${n}` })
  })

const allEvents = Effect.flatMap(EventLog.EventLog, (log) =>
  Effect.map(Stream.runCollect(log.stream(EventFilter.all)), Chunk.toReadonlyArray)
)

/** After every scenario: no partition was ever held by two live runs at once. */
const checkLog = Effect.gen(function* () {
  expect(Invariants.overlappingClaims(yield* allEvents)).toEqual([])
})

export const schedulerScenarios = (name: string, store: Layer.Layer<EventLog.EventLog, unknown>) =>
  describe(`scheduler on ${name}`, () => {
    const withBuilds = <A, E>(graph: Graph.Graph, body: Effect.Effect<A, E, Builds.Builds | EventLog.EventLog>) =>
      body.pipe(Effect.zipLeft(checkLog), Effect.provide(Layer.provideMerge(Builds.layer(graph), store)))

    it.live(
      "a slow job keeps its lease and ends on time while fast jobs keep the scheduler busy",
      () => {
        // A store that answers synchronously turns a build of fast jobs into one long run of
        // microtasks; the slow job's heartbeats and its own sleep are timers, which must still fire.
        const fast = Job.make({ name: "fast", outputs: [pattern("fast/n={n}")], run: () => Effect.succeed({}) })
        const slow = Job.make({
          name: "a-slow",
          outputs: [pattern("a-slow/x={x}")],
          run: () => Effect.as(Effect.sleep("1500 millis"), {})
        })
        return withBuilds(
          Graph.make([slow, fast]),
          Effect.gen(function* () {
            const builds = yield* Builds.Builds
            const refs = ["a-slow/x=1", ...Array.from({ length: 5000 }, (_, n) => `fast/n=${n}`)]
            const result = yield* Effect.flatMap(
              builds.request(refs, { concurrency: 16, leaseMs: 3000 }),
              (h) => h.await
            )
            expect(result.status).toBe("COMPLETED")
            const events = yield* allEvents
            const completed = (job: string) =>
              events.flatMap((e) =>
                e.event._tag === "JobRunStatusChanged" && e.event.jobName === job && e.event.status === "COMPLETED"
                  ? [e.seq]
                  : []
              )
            const [slowDone] = completed("a-slow")
            const slowRun = events.find((e) => e.event._tag === "JobRunStatusChanged" && e.event.jobName === "a-slow")
            const beats = events.filter(
              (e) =>
                e.event._tag === "JobRunHeartbeat" &&
                slowRun?.event._tag === "JobRunStatusChanged" &&
                e.event.jobRunId === slowRun.event.jobRunId &&
                e.seq < slowDone!
            )
            expect(completed("a-slow")).toHaveLength(1)
            expect(beats.length).toBeGreaterThan(0)
            expect(slowDone!).toBeLessThan(Math.max(...completed("fast")))
          })
        )
      },
      120_000
    )

    it.live("builds a request in dependency order, and a second request builds nothing", () => {
      const k = Graphs.knobs()
      return withBuilds(
        Graphs.salesGraph(k),
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          yield* registerRaw(days(1, 5))
          const first = yield* Effect.flatMap(builds.request(["weekly/end=5"]), (handle) => handle.await)
          expect(first.status).toBe("COMPLETED")
          expect(first.partitions).toEqual([{ ref: "weekly/end=5", status: "AVAILABLE" }])
          expect(Object.fromEntries(k.runs)).toEqual({ clean: 3, daily: 3, weekly: 1 })
          const handle = yield* builds.request(["weekly/end=5", "daily/date=4"])
          const second = yield* handle.await
          expect(second.status).toBe("COMPLETED")
          expect(second.built).toBe(0)
          // weekly/end=5 and the three daily and three clean partitions under it, each counted once.
          expect(second.delegated).toBe(7)
          expect(Object.fromEntries(k.runs)).toEqual({ clean: 3, daily: 3, weekly: 1 })
          const events = Chunk.toReadonlyArray(yield* Stream.runCollect(handle.events))
          expect(events.at(-1)?.event).toMatchObject({ _tag: "BuildRequestStatusChanged", status: "COMPLETED" })
          expect(
            events
              .filter((e) => e.event._tag === "Delegated")
              .every((e) => "mode" in e.event && e.event.mode === "historical")
          ).toBe(true)
        })
      )
    })

    it.live("two overlapping requests started together build each partition once", () => {
      const k = Graphs.knobs()
      k.delays.set("clean", 30)
      return withBuilds(
        Graphs.salesGraph(k),
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          yield* registerRaw(days(1, 6))
          const [a, b] = yield* Effect.all(
            [builds.request(["weekly/end=5"]), builds.request(["weekly/end=6", "daily/date=4"])],
            {
              concurrency: "unbounded"
            }
          )
          const [ra, rb] = yield* Effect.all([a.await, b.await], { concurrency: "unbounded" })
          expect([ra.status, rb.status]).toEqual(["COMPLETED", "COMPLETED"])
          expect(Object.fromEntries(k.runs)).toEqual({ clean: 4, daily: 4, weekly: 2 })
          const counts = Invariants.buildsPerPartition(yield* allEvents)
          expect([...counts.values()].every((n) => n === 1)).toBe(true)
        })
      )
    })

    it.live("an upstream rebuild makes exactly the downstream chain stale, and only it is rebuilt", () => {
      const k = Graphs.knobs()
      return withBuilds(
        Graphs.salesGraph(k),
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          const log = yield* EventLog.EventLog
          yield* registerRaw(days(1, 6))
          yield* Effect.flatMap(builds.request(["weekly/end=5", "weekly/end=6"]), (h) => h.await)
          k.runs.clear()
          // The same file again changes nothing; a new file for day 6 is a rebuild upstream.
          expect(
            (yield* builds.registerSource("raw/date=4", { path: "/data/raw/4.csv", checksum: "c4" })).registered
          ).toBe(false)
          expect(
            (yield* builds.registerSource("raw/date=6", { path: "/data/raw/6.csv", checksum: "c6-v2" })).registered
          ).toBe(true)
          const plan = yield* builds.plan(["weekly/end=5", "weekly/end=6"])
          const decisions = Object.fromEntries(plan.partitions.map((p) => [p.ref, p.decision]))
          expect(decisions).toMatchObject({
            "clean/date=6": "stale",
            "daily/date=6": "stale",
            "weekly/end=6": "stale",
            "clean/date=5": "reuse",
            "weekly/end=5": "reuse"
          })
          expect(plan.runs).toBe(3)
          const result = yield* Effect.flatMap(builds.request(["weekly/end=5", "weekly/end=6"]), (h) => h.await)
          expect(result.status).toBe("COMPLETED")
          expect(Object.fromEntries(k.runs)).toEqual({ clean: 1, daily: 1, weekly: 1 })
          k.runs.clear()
          // Invalidation by hand cascades to everything built from the partition.
          const invalidated = yield* builds.invalidate("clean/date=4")
          expect([...invalidated].sort()).toEqual(["clean/date=4", "daily/date=4", "weekly/end=5", "weekly/end=6"])
          const stale = yield* log.partitions({ statuses: ["STALE"] })
          expect(stale.items.map((row) => row.ref)).toEqual([
            "clean/date=4",
            "daily/date=4",
            "weekly/end=5",
            "weekly/end=6"
          ])
          yield* Effect.flatMap(builds.request(["weekly/end=6"]), (h) => h.await)
          expect(Object.fromEntries(k.runs)).toEqual({ clean: 1, daily: 1, weekly: 1 })
        })
      )
    })

    it.live("a changed job version rebuilds that job's partitions and what depends on them", () => {
      const k = Graphs.knobs()
      return Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const run = (graph: Graph.Graph) =>
          Effect.gen(function* () {
            const builds = yield* Builds.Builds
            yield* registerRaw(days(1, 3))
            return yield* Effect.flatMap(builds.request(["weekly/end=3"]), (h) => h.await)
          }).pipe(Effect.provide(Builds.layer(graph)), Effect.provideService(EventLog.EventLog, log))
        yield* run(Graphs.salesGraph(k))
        k.runs.clear()
        k.versions.set("daily", "2")
        const result = yield* run(Graphs.salesGraph(k))
        expect(result.status).toBe("COMPLETED")
        expect(Object.fromEntries(k.runs)).toEqual({ daily: 3, weekly: 1 })
        yield* checkLog
      }).pipe(Effect.provide(store))
    })

    it.live("a failing job retries with backoff, then fails its downstream with 'upstream X failed'", () => {
      const k = Graphs.knobs()
      k.failures.set("daily", Number.POSITIVE_INFINITY)
      return withBuilds(
        Graphs.salesGraph(k),
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          const log = yield* EventLog.EventLog
          yield* registerRaw(days(1, 3))
          const handle = yield* builds.request(["weekly/end=3"], {
            retry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 40 },
            concurrency: 1
          })
          const result = yield* handle.await
          expect(result.status).toBe("FAILED")
          expect(result.failure).toBe("execution")
          expect(result.message).toContain("upstream daily/date=")
          expect(result.message).toContain("daily failed on purpose")
          // Three daily partitions, three attempts each; weekly never runs.
          expect(k.runs.get("daily")).toBe(9)
          expect(k.runs.get("weekly")).toBeUndefined()
          const runs = yield* log.jobRuns({ jobNames: ["daily"], buildRequestIds: [handle.id] })
          expect(runs.items.map((row) => [row.status, row.attempt])).toEqual([
            ["FAILED", 3],
            ["FAILED", 3],
            ["FAILED", 3]
          ])
          const events = Chunk.toReadonlyArray(yield* Stream.runCollect(handle.events))
          const weekly = events.filter(
            (e) => e.event._tag === "PartitionStatusChanged" && e.event.partitionRef === "weekly/end=3"
          )
          expect(weekly.at(-1)?.event).toMatchObject({ status: "FAILED", message: "upstream daily/date=3 failed" })
          const retries = events.filter(
            (e) => e.event._tag === "JobRunStatusChanged" && e.event.status === "SCHEDULED" && e.event.attempt > 1
          )
          expect(retries.length).toBe(6)
          expect(retries.every((e) => "message" in e.event && e.event.message?.includes("retrying in"))).toBe(true)
        })
      )
    })

    it.live(
      "a job whose claim is lost is stopped there: nothing after the loss runs, and its run says why it failed",
      () => {
        let started = 0
        let after = 0
        // The job holds the thread past its lease, so its first heartbeat comes too late and is refused.
        const stalled = Job.make({
          name: "stalled",
          outputs: [pattern("stalled/n={n}")],
          run: () =>
            Effect.gen(function* () {
              started++
              Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 900)
              yield* Effect.sleep("3 seconds")
              after++
              return {}
            })
        })
        return withBuilds(
          Graph.make([stalled]),
          Effect.gen(function* () {
            const builds = yield* Builds.Builds
            const log = yield* EventLog.EventLog
            const handle = yield* builds.request(["stalled/n=1"], { leaseMs: 300, retry: { attempts: 3 } })
            const result = yield* handle.await
            expect(result.status).toBe("FAILED")
            expect(result.message).toContain("lost its claim")
            expect(started).toBe(1)
            expect(after).toBe(0)
            const runs = yield* log.jobRuns({ buildRequestIds: [handle.id] })
            expect(runs.items.map((row) => row.status)).toEqual(["FAILED"])
          })
        )
      }
    )

    it.live("a transient failure succeeds on retry", () => {
      const k = Graphs.knobs()
      k.failures.set("clean", 1)
      return withBuilds(
        Graphs.salesGraph(k),
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          yield* registerRaw([1])
          const result = yield* Effect.flatMap(
            builds.request(["daily/date=1"], { retry: { attempts: 2, initialDelayMs: 5 } }),
            (h) => h.await
          )
          expect(result.status).toBe("COMPLETED")
          expect(k.runs.get("clean")).toBe(2)
          // Two job runs, one of them with two attempts: a run counts once.
          expect(result.built).toBe(2)
        })
      )
    })

    it.live("cancellation releases partitions to a waiting delegator, which builds them", () => {
      const k = Graphs.knobs()
      k.delays.set("clean", 60_000)
      return withBuilds(
        Graphs.salesGraph(k),
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          const log = yield* EventLog.EventLog
          yield* registerRaw([1])
          const first = yield* builds.request(["clean/date=1"])
          // Wait until the first build is running the job, then start a second that must delegate.
          yield* log.tail({ partitionRefs: ["clean/date=1"] }).pipe(
            Stream.filter((e) => e.event._tag === "PartitionStatusChanged" && e.event.status === "BUILDING"),
            Stream.take(1),
            Stream.runDrain
          )
          const second = yield* builds.request(["daily/date=1"])
          yield* log.tail({ buildRequestIds: [second.id], kinds: ["Delegated"] }).pipe(Stream.take(1), Stream.runDrain)
          k.delays.delete("clean")
          yield* builds.cancel(first.id)
          const [a, b] = yield* Effect.all([first.await, second.await])
          expect(a.status).toBe("CANCELLED")
          expect(b.status).toBe("COMPLETED")
          expect(k.runs.get("clean")).toBe(2)
          const runs = yield* log.jobRuns({ buildRequestIds: [first.id] })
          expect(runs.items.map((row) => row.status)).toEqual(["CANCELLED"])
        })
      )
    })

    it.live("analysis failures name the refs: missing sources, cycles, malformed refs", () => {
      const k = Graphs.knobs()
      return withBuilds(
        Graphs.salesGraph(k),
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          const result = yield* Effect.flatMap(builds.request(["daily/date=9"]), (h) => h.await)
          expect(result).toMatchObject({ status: "FAILED", failure: "analysis" })
          expect(result.message).toContain("raw/date=9")
          // Awaited from the log, after it ended (another process, or a late await): still an analysis failure.
          const elsewhere = yield* Builds.make.pipe(
            Effect.provideService(Builds.PipelineGraph, Graphs.salesGraph(k)),
            Effect.scoped
          )
          const again = yield* Effect.flatMap(
            elsewhere.request(["daily/date=9"], { id: result.buildRequestId }),
            (h) => h.await
          )
          expect(again).toMatchObject({ status: "FAILED", failure: "analysis", built: 0 })
          const malformed = yield* Effect.flip(builds.request(["/daily/date=1"]))
          expect(malformed._tag).toBe("InvalidPartitionRef")
          expect(k.runs.size).toBe(0)
        })
      )
    })

    it.live("the same request id twice is one build", () => {
      const k = Graphs.knobs()
      return withBuilds(
        Graphs.salesGraph(k),
        Effect.gen(function* () {
          const builds = yield* Builds.Builds
          yield* registerRaw([1])
          const [a, b] = yield* Effect.all(
            [builds.request(["daily/date=1"], { id: "nightly" }), builds.request(["daily/date=1"], { id: "nightly" })],
            {
              concurrency: "unbounded"
            }
          )
          const [ra, rb] = yield* Effect.all([a.await, b.await], { concurrency: "unbounded" })
          expect(ra.status).toBe("COMPLETED")
          expect(rb.status).toBe("COMPLETED")
          expect(k.runs.get("daily")).toBe(1)
          const again = yield* Effect.flatMap(builds.request(["daily/date=1"], { id: "nightly" }), (h) => h.await)
          expect(again.status).toBe("COMPLETED")
          expect(k.runs.get("daily")).toBe(1)
        })
      )
    })

    it.live("a job that reports missing dependencies gets them built, then succeeds", () => {
      const k = Graphs.knobs()
      const base = Graphs.salesGraph(k)
      return Effect.gen(function* () {
        let asked = 0
        const needed = PartitionRef.unsafeMake("daily/date=2")
        const report = Job.make({
          name: "report",
          outputs: [pattern("report/date={date}")],
          run: (ctx) =>
            Effect.gen(function* () {
              asked++
              if (!ctx.inputs.includes(needed)) return yield* new Job.MissingDeps({ refs: [needed] })
              return { inputs: ctx.inputs.length }
            })
        })
        const graph = Graph.make([...base.jobs, report])
        yield* Effect.gen(function* () {
          const builds = yield* Builds.Builds
          yield* registerRaw([2])
          const result = yield* Effect.flatMap(builds.request(["report/date=2"]), (h) => h.await)
          expect(result.status).toBe("COMPLETED")
          expect(asked).toBe(2)
          expect(k.runs.get("daily")).toBe(1)
        }).pipe(Effect.provide(Builds.layer(graph)))
        yield* checkLog
      }).pipe(Effect.provide(store))
    })

    it.live("a build whose process is gone is resumed, and completed work is not redone", () => {
      const k = Graphs.knobs()
      return Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        k.delays.set("daily", 60_000)
        // The first "process": a Builds layer whose scope closes mid-build, like a process that dies.
        const id = yield* Effect.gen(function* () {
          const builds = yield* Builds.Builds
          yield* registerRaw([1, 2, 3])
          const handle = yield* builds.request(["weekly/end=3"], { leaseMs: 300, concurrency: 3 })
          yield* log.tail({ buildRequestIds: [handle.id], kinds: ["PartitionStatusChanged"] }).pipe(
            Stream.filter(
              (e) =>
                e.event._tag === "PartitionStatusChanged" &&
                e.event.partitionRef.startsWith("daily/") &&
                e.event.status === "BUILDING"
            ),
            // All three daily runs hold their partitions (so every clean run has completed) when the process dies.
            Stream.take(3),
            Stream.runDrain
          )
          return handle.id
          // Closing the layer stops the process's builds: running jobs are interrupted and release
          // their partitions, but the build itself stays EXECUTING for someone to resume.
        }).pipe(Effect.provide(Builds.layer(Graphs.salesGraph(k))), Effect.provideService(EventLog.EventLog, log))
        k.delays.delete("daily")
        const cleanRuns = k.runs.get("clean")
        const result = yield* Effect.gen(function* () {
          const builds = yield* Builds.Builds
          return yield* Effect.flatMap(builds.resume(id), (h) => h.await)
        }).pipe(Effect.provide(Builds.layer(Graphs.salesGraph(k))), Effect.provideService(EventLog.EventLog, log))
        expect(result.status).toBe("COMPLETED")
        expect(cleanRuns).toBe(3)
        expect(k.runs.get("clean")).toBe(cleanRuns)
        const daily = yield* log.jobRuns({ buildRequestIds: [id], jobNames: ["daily"] })
        expect(daily.items.filter((row) => row.status === "CANCELLED")).toHaveLength(3)
        expect(daily.items.filter((row) => row.status === "COMPLETED")).toHaveLength(3)
        expect(k.runs.get("weekly")).toBe(1)
        yield* checkLog
      }).pipe(Effect.provide(store))
    })
  })
