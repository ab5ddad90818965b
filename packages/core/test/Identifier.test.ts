/**
 * Build request ids and job names are keys in every store: the same bounds everywhere, with a
 * typed error before anything is written.
 */
import { describe, expect, it } from "@effect/vitest"
import { Builds, EventFilter, EventLog, Graph, InMemoryEventLog, Job, pattern } from "@tessera/core"
import { Context, Effect, Layer, Stream } from "effect"

const job = Job.make({ name: "t", outputs: [pattern("t/x={x}")], run: () => Effect.succeed({}) })

describe("identifiers", () => {
  for (const [what, id, reason] of [
    ["empty", "", "it is empty"],
    ["2,000 characters", "b".repeat(2000), "longer than 256 bytes"],
    ["with a newline", "a\nb", "control characters"],
    ["with a lone surrogate", "b\ud800", "well-formed Unicode"]
  ] as const) {
    it.live(`a build request id ${what} is refused, and nothing is written`, () =>
      Effect.gen(function* () {
        const log = yield* InMemoryEventLog.make
        const context = yield* Layer.build(
          Builds.layer(Graph.make([job])).pipe(Layer.provide(Layer.succeed(EventLog.EventLog, log)))
        )
        const refused = yield* Effect.flip(Context.get(context, Builds.Builds).request(["t/x=1"], { id }))
        expect(refused._tag).toBe("InvalidIdentifier")
        expect(refused.message).toContain("invalid build request id")
        expect(refused.message).toContain(reason)
        expect(yield* Stream.runCount(log.stream(EventFilter.all))).toBe(0)
      }).pipe(Effect.scoped)
    )
  }

  it("a job name no store could key is refused when the job is made", () => {
    for (const name of ["", "j".repeat(300), "a\tb"]) {
      expect(() => Job.make({ name, outputs: [pattern("t/x={x}")], run: () => Effect.succeed({}) })).toThrow(
        /invalid job name/
      )
    }
  })
})
