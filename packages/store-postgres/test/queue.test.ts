import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { EventLog, InMemoryJobQueue, JobQueue, PartitionRef } from "@tessera/core"
import { PgStore } from "@tessera/store-postgres"
import { Effect, FastCheck as fc, Layer } from "effect"
import * as Events from "./events.js"
import { Admin, dropAfter, serverUrl, uniqueName } from "./helpers.js"

const run = (
  buildRequestId: string,
  key: string,
  dependsOn: ReadonlyArray<string> = [],
  jobVersion?: string
): JobQueue.QueuedRun => ({
  buildRequestId,
  key,
  jobName: "job",
  ...(jobVersion === undefined ? {} : { jobVersion }),
  outputs: [PartitionRef.unsafeMake(`out/${key}`)],
  inputs: [],
  args: { key, n: 1, nested: { list: [1, "two", null] } },
  dependsOn
})

/** A PostgreSQL queue in a schema of the test's own, and a way to empty it between property runs. */
const pgQueue = Effect.gen(function* () {
  const schema = uniqueName("queue")
  yield* dropAfter(schema)
  const context = yield* Layer.build(PgStore.layer({ url: serverUrl(), schema, maxConnections: 6 }))
  const sql = yield* PgClient.PgClient
  const truncate = sql`TRUNCATE ${sql(`${schema}.job_queue`)}, ${sql(`${schema}.job_queue_deps`)},
    ${sql(`${schema}.job_queue_builds`)}`
  return {
    queue: Effect.runSync(Effect.provide(JobQueue.JobQueue, context)),
    log: Effect.runSync(Effect.provide(EventLog.EventLog, context)),
    truncate
  }
})

/** A claimed run as the in-memory reference claims it: without what the claim read of the log. */
const asQueued = ({ read: _, ...run }: JobQueue.ClaimedRun): JobQueue.ClaimedRun => run
const claimedAsQueued = Effect.map((runs: ReadonlyArray<JobQueue.ClaimedRun>) => runs.map(asQueued))

type Op =
  | { readonly _tag: "enqueue"; readonly build: number; readonly runs: ReadonlyArray<readonly [number, Array<number>]> }
  | { readonly _tag: "claim"; readonly worker: number; readonly max: number; readonly version: string | null }
  | {
      readonly _tag: "finish"
      readonly worker: number
      readonly build: number
      readonly key: number
      readonly ok: boolean
    }
  | { readonly _tag: "release"; readonly worker: number; readonly build: number; readonly keys: Array<number> }
  | { readonly _tag: "extend"; readonly worker: number; readonly build: number; readonly keys: Array<number> }

const keyArb = fc.integer({ min: 0, max: 6 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    _tag: fc.constant("enqueue" as const),
    build: fc.integer({ min: 0, max: 1 }),
    runs: fc.array(fc.tuple(keyArb, fc.uniqueArray(keyArb, { maxLength: 3 })), { minLength: 1, maxLength: 5 })
  }),
  fc.record({
    _tag: fc.constant("claim" as const),
    worker: fc.integer({ min: 0, max: 2 }),
    max: fc.integer({ min: 1, max: 3 }),
    // A claimer with version "1" or "2" of the job, or one that takes any run.
    version: fc.constantFrom(null, "1", "2")
  }),
  fc.record({
    _tag: fc.constant("finish" as const),
    worker: fc.integer({ min: 0, max: 2 }),
    build: fc.integer({ min: 0, max: 1 }),
    key: keyArb,
    ok: fc.boolean()
  }),
  fc.record({
    _tag: fc.constant("release" as const),
    worker: fc.integer({ min: 0, max: 2 }),
    build: fc.integer({ min: 0, max: 1 }),
    keys: fc.uniqueArray(keyArb, { maxLength: 3 })
  }),
  fc.record({
    _tag: fc.constant("extend" as const),
    worker: fc.integer({ min: 0, max: 2 }),
    build: fc.integer({ min: 0, max: 1 }),
    keys: fc.uniqueArray(keyArb, { maxLength: 3 })
  })
)

/** Everything a caller can observe of one operation. Leases are long, so no claim depends on timing. */
const apply = (queue: JobQueue.JobQueueShape, op: Op): Effect.Effect<unknown, unknown> => {
  const build = (n: number) => `b${n}`
  const key = (n: number) => `k${n}`
  const worker = (n: number) => `w${n}`
  switch (op._tag) {
    case "enqueue":
      return Effect.asVoid(
        queue.enqueue(
          op.runs.map(([k, deps]) =>
            // Runs of version "1", of "2", and runs queued before versions were recorded.
            run(build(op.build), key(k), deps.filter((d) => d !== k).map(key), [undefined, "1", "2"][k % 3])
          )
        )
      )
    case "claim":
      return claimedAsQueued(
        queue.claim(
          worker(op.worker),
          op.max,
          60_000,
          op.version === null ? undefined : { jobs: new Map([["job", op.version]]), waitMs: 60_000 }
        )
      )
    case "finish":
      return queue.finish(
        worker(op.worker),
        { buildRequestId: build(op.build), key: key(op.key) },
        op.ok ? { _tag: "Available" } : { _tag: "Failed", ref: `out/${key(op.key)}`, reason: `k${op.key} broke` }
      )
    case "release":
      return Effect.asVoid(
        queue.release(
          worker(op.worker),
          op.keys.map((k) => ({ buildRequestId: build(op.build), key: key(k) }))
        )
      )
    case "extend":
      return queue.extend(
        worker(op.worker),
        op.keys.map((k) => ({ buildRequestId: build(op.build), key: key(k) })),
        60_000
      )
  }
}

describe("PgJobQueue", () => {
  it.scopedLive(
    "random enqueue/claim/finish/release/extend sequences observe what the in-memory reference does, depth too",
    () =>
      Effect.gen(function* () {
        const { queue, truncate } = yield* pgQueue
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) =>
              Effect.runPromise(
                Effect.gen(function* () {
                  yield* truncate
                  const reference = yield* InMemoryJobQueue.make
                  for (const [i, op] of ops.entries()) {
                    const expected = { result: yield* apply(reference, op), depth: yield* reference.depth }
                    const actual = { result: yield* apply(queue, op), depth: yield* queue.depth }
                    expect({ step: i, op, ...actual }).toEqual({ step: i, op, ...expected })
                  }
                })
              )
            ),
            { numRuns: 150 }
          )
        )
      }).pipe(Effect.provide(Admin))
  )

  it.scopedLive("a failure whose ref and message hold quotes, SQL and NUL is recorded as data, NUL as U+FFFD", () =>
    Effect.gen(function* () {
      const { queue } = yield* pgQueue
      const worker = "w'; DROP TABLE job_queue; --"
      yield* queue.enqueue([run("b'1", "k'1"), run("b'1", "k2", ["k'1"])])
      expect((yield* queue.claim(worker, 2, 60_000)).map((r) => r.key)).toEqual(["k'1"])
      const reason = "it's E'\\x' $$ broke\u0000 here"
      const finished = yield* queue.finish(
        worker,
        { buildRequestId: "b'1", key: "k'1" },
        {
          _tag: "Failed",
          ref: "out/it's",
          reason
        }
      )
      const recorded = { key: "k'1", ref: "out/it's", reason: reason.replace("\u0000", "\ufffd") }
      expect(finished).toEqual({ remaining: 1, failures: [recorded] })
      const [dependent] = yield* queue.claim(worker, 2, 60_000)
      expect(dependent?.upstreamFailed).toEqual({ ref: "out/it's", reason: recorded.reason })
      expect(yield* queue.progress("b'1")).toEqual({ remaining: 1, failures: [recorded] })
    }).pipe(Effect.provide(Admin))
  )

  it.scopedLive(
    "a claim reads the catalog rows of its runs' outputs and inputs and their job runs, as the log has them",
    () =>
      Effect.gen(function* () {
        const { queue, log } = yield* pgQueue
        const lease = Events.liveLease()
        yield* log.append(Events.claim({ run: "up:x", build: "up", ref: "in/x", lease }))
        yield* log.append(Events.complete({ run: "up:x", build: "up", ref: "in/x", lease }))
        // The run's first job run ended; a resumed build continued it as #2, which holds out/a now.
        yield* log.append(Events.claim({ run: "b:a", build: "b", ref: "out/a", lease }))
        yield* log.append(Events.complete({ run: "b:a", build: "b", ref: "out/a", lease }))
        yield* log.append(Events.claim({ run: "b:a#2", build: "b", ref: "out/a", lease }))
        yield* log.append(Events.claim({ run: "b:a-other", build: "b", ref: "out/other", lease }))
        yield* queue.enqueue([
          { ...run("b", "a"), inputs: [PartitionRef.unsafeMake("in/x"), PartitionRef.unsafeMake("in/never-built")] },
          run("b", "fresh")
        ])
        const claimed = yield* queue.claim("w1", 10, 60_000)
        expect(claimed.map((entry) => entry.key)).toEqual(["a", "fresh"])
        const [a, fresh] = claimed
        const catalog = yield* log.partitions({ refs: ["in/x", "out/a"] })
        const jobRuns = yield* log.jobRuns({ jobRunIds: ["b:a", "b:a#2"] })
        expect([...a!.read!.catalog].sort((x, y) => x.ref.localeCompare(y.ref))).toEqual(catalog.items)
        expect([...a!.read!.jobRuns].sort((x, y) => x.jobRunId.localeCompare(y.jobRunId))).toEqual(jobRuns.items)
        expect(fresh!.read).toEqual({ catalog: [], jobRuns: [] })
      }).pipe(Effect.provide(Admin))
  )

  it.scopedLive("a run whose lease ran out is claimed again, and its first worker's finish is refused", () =>
    Effect.gen(function* () {
      const { queue } = yield* pgQueue
      yield* queue.enqueue([run("b", "a"), run("b", "z", ["a"])])
      const [first] = yield* queue.claim("w1", 10, 1)
      expect(first?.key).toBe("a")
      yield* Effect.sleep("50 millis")
      const again = yield* queue.claim("w2", 10, 60_000)
      expect(again.map((r) => r.key)).toEqual(["a"])
      expect(yield* queue.extend("w1", [{ buildRequestId: "b", key: "a" }], 60_000)).toEqual(["a"])
      expect(yield* queue.finish("w1", { buildRequestId: "b", key: "a" }, { _tag: "Available" })).toBeUndefined()
      expect(yield* queue.finish("w2", { buildRequestId: "b", key: "a" }, { _tag: "Available" })).toEqual({
        remaining: 1,
        failures: []
      })
      const last = yield* claimedAsQueued(queue.claim("w1", 10, 60_000))
      expect(last).toEqual([run("b", "z", ["a"])])
    }).pipe(Effect.provide(Admin))
  )

  it.scopedLive("a run no claimer can run as planned is left to one that can, then claimed by any after the wait", () =>
    Effect.gen(function* () {
      const { queue } = yield* pgQueue
      const reference = yield* InMemoryJobQueue.make
      for (const q of [queue, reference]) {
        yield* q.enqueue([run("b", "v2", [], "2"), run("b", "v1", [], "1"), run("b", "old")])
        const v1 = { jobs: new Map([["job", "1"]]), waitMs: 60_000 }
        expect((yield* q.claim("w1", 10, 60_000, v1)).map((r) => r.key)).toEqual(["v1", "old"])
        const otherJob = { jobs: new Map([["another", "2"]]), waitMs: 60_000 }
        expect(yield* q.claim("w2", 10, 60_000, otherJob)).toEqual([])
        yield* Effect.sleep("50 millis")
        const [late] = yield* claimedAsQueued(q.claim("w2", 10, 60_000, { ...otherJob, waitMs: 10 }))
        expect(late).toEqual(run("b", "v2", [], "2"))
      }
    }).pipe(Effect.provide(Admin))
  )

  it.scopedLive("concurrent workers claim each of 2,000 runs once, and exactly one finisher completes the build", () =>
    Effect.gen(function* () {
      const { queue } = yield* pgQueue
      // 40 roots, each with a chain of dependents: width and depth.
      const runs = Array.from({ length: 2000 }, (_, i) => run("big", `r${i}`, i >= 40 ? [`r${i - 40}`] : []))
      yield* queue.enqueue(runs)
      yield* queue.enqueue(runs)
      const claimed: Array<string> = []
      const completions: Array<number> = []
      const workerLoop = (worker: string) =>
        Effect.gen(function* () {
          let idle = 0
          while (idle < 20) {
            const batch = yield* queue.claim(worker, 8, 60_000)
            if (batch.length === 0) {
              idle++
              yield* Effect.sleep("20 millis")
              continue
            }
            idle = 0
            for (const entry of batch) claimed.push(entry.key)
            yield* Effect.forEach(
              batch,
              (entry) =>
                Effect.flatMap(queue.finish(worker, entry, { _tag: "Available" }), (finished) =>
                  Effect.sync(() => {
                    if (finished?.remaining === 0) completions.push(1)
                  })
                ),
              { concurrency: "unbounded" }
            )
          }
        })
      yield* Effect.forEach(["w1", "w2", "w3", "w4"], workerLoop, { concurrency: "unbounded" })
      expect(claimed.length).toBe(2000)
      expect(new Set(claimed).size).toBe(2000)
      expect(completions).toEqual([1])
    }).pipe(Effect.provide(Admin))
  )
})
