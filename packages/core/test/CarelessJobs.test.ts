/**
 * Graph modules are user code, often plain JavaScript: a `config` or `run` that returns the wrong
 * thing must end the build FAILED in the log with a message naming the job, never crash the
 * scheduler or leave the build waiting forever. A `run` may be `async`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Builds, EventLog, Graph, InMemoryEventLog, Job, type Manifest, pattern } from "@tessera/core"
import { Context, Effect, Layer } from "effect"

/** Builds `t/x=1` with a job made of `config` and `run`; the result, and the log's rows afterwards. */
const buildWith = (config: unknown, run: unknown) =>
  Effect.gen(function* () {
    const log = yield* InMemoryEventLog.make
    const job = Job.make({
      name: "t",
      outputs: [pattern("t/x={x}")],
      ...(config === undefined ? {} : { config: config as Job.JobOptions["config"] }),
      run: run as Job.JobOptions["run"]
    })
    const context = yield* Layer.build(
      Builds.layer(Graph.make([job])).pipe(Layer.provide(Layer.succeed(EventLog.EventLog, log)))
    )
    const handle = yield* Context.get(context, Builds.Builds).request(["t/x=1"], { id: "b" })
    const result = yield* handle.await.pipe(Effect.timeout("10 seconds"))
    const build = (yield* log.buildRequests({ buildRequestIds: ["b"] })).items[0]!
    const partition = (yield* log.partitions({ refs: ["t/x=1"] })).items[0]
    const runs = (yield* log.jobRuns({ buildRequestIds: ["b"] })).items
    return { result, build, partition, runs }
  }).pipe(Effect.scoped)

const ok = () => Effect.succeed({ rows: 1 })

describe("careless job code", () => {
  for (const [what, config, reason] of [
    ["an object", () => ({ outputs: ["t/x=1"], inputs: [] }), "config returned an object, not an array"],
    ["null", () => null, "config returned null"],
    ["an Effect", () => Effect.succeed([]), "config returned an Effect"],
    ["a Promise", async () => [], "config returned a Promise"],
    ["a run without fields", () => [{}], "job run 0: outputs is undefined"],
    [
      "inputs: [42]",
      () => [{ outputs: ["t/x=1"], inputs: [42] }],
      "job run 0: inputs (use [] for none)[0] is number 42"
    ],
    ["args with a Date", () => [{ outputs: ["t/x=1"], inputs: [], args: { at: new Date(0) } }], "args.at is a Date"]
  ] as const) {
    it.live(`a config that returns ${what} fails the build at analysis, naming the job`, () =>
      Effect.gen(function* () {
        const { result, build, runs } = yield* buildWith(config, ok)
        expect(result).toMatchObject({ status: "FAILED", failure: "analysis" })
        expect(result.message).toContain("job t")
        expect(result.message).toContain(reason)
        expect(build.status).toBe("FAILED")
        expect(runs).toEqual([])
      })
    )
  }

  for (const [what, run, reason] of [
    [
      "throws synchronously",
      () => {
        throw new Error("boom")
      },
      "the job crashed: boom"
    ],
    ["returns a plain object", () => ({ rows: 1 }), "run returned object, not an Effect or a Promise"],
    ["returns undefined", () => undefined, "run returned undefined"],
    ["rejects its Promise", async () => Promise.reject(new Error("async boom")), "async boom"],
    ["returns a manifest holding a Date", () => Effect.succeed({ at: new Date(0) }), "$.at is a Date"],
    ["returns an array as its manifest", () => Effect.succeed([1]), "a manifest is a plain JSON object, not an array"],
    ["returns a manifest holding NaN", async () => ({ rows: Number.NaN }), "$.rows is NaN"]
  ] as const) {
    it.live(`a run that ${what} fails its job run and the build, saying why`, () =>
      Effect.gen(function* () {
        const { result, build, partition, runs } = yield* buildWith(undefined, run)
        expect(result).toMatchObject({ status: "FAILED", failure: "execution" })
        expect(result.message).toContain(reason)
        expect(build.status).toBe("FAILED")
        expect(partition?.status).toBe("FAILED")
        expect(runs.map((row) => [row.status, row.message])).toEqual([["FAILED", expect.stringContaining(reason)]])
      })
    )
  }

  it.live("an async run's manifest lands like an Effect's", () =>
    Effect.gen(function* () {
      const { result, partition } = yield* buildWith(undefined, async (): Promise<Manifest.Manifest> => ({ rows: 3 }))
      expect(result.status).toBe("COMPLETED")
      expect(partition).toMatchObject({ status: "AVAILABLE", manifest: { rows: 3 } })
    })
  )
})
