import { describe, expect, it } from "@effect/vitest"
import { Progress } from "@tessera/cli"
import { Builds, type BuildEvent, Graph, InMemoryEventLog, Job, pattern } from "@tessera/core"
import { Chunk, Effect, Layer, Stream } from "effect"

const graph = Graph.make([
  Job.make({ name: "raw", outputs: [pattern("raw/n={n}")], run: () => Effect.succeed({}) }),
  Job.make({
    name: "sum",
    outputs: [pattern("sum/n={n}")],
    config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [ref.replace("sum/", "raw/")] })),
    run: () => Effect.succeed({})
  })
])

/** The events of one build of `refs`, from its request to its end. */
const buildEvents = (refs: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const builds = yield* Builds.Builds
    const handle = yield* builds.request(refs)
    yield* handle.await
    return Chunk.toReadonlyArray(yield* Stream.runCollect(handle.events))
  })

const finalFrame = (id: string, events: ReadonlyArray<BuildEvent.LoggedEvent>) => {
  const tracker = new Progress.Tracker(id)
  for (const { event } of events) tracker.apply(event)
  return tracker.frame(Date.now(), 120, 40)
}

describe("the live view", () => {
  it.effect("ends with every reused partition shown as reused, never still REQUESTED", () =>
    Effect.gen(function* () {
      yield* buildEvents(["sum/n=1"])
      const events = yield* buildEvents(["sum/n=1", "raw/n=1"])
      const frame = finalFrame(events[0]!.event.buildRequestId, events)
      expect(frame.join("\n")).not.toContain("REQUESTED")
      expect(
        frame
          .filter((line) => line.startsWith("  ") && line.includes("REUSED"))
          .map((line) => line.trim().split(/\s+/).at(-1))
      ).toEqual(["raw/n=1", "sum/n=1"])
      expect(frame[0]).toContain("COMPLETED")
    }).pipe(Effect.provide(Layer.provideMerge(Builds.layer(graph), InMemoryEventLog.layer)))
  )
})
