import { describe, expect, it } from "@effect/vitest"
import { EventFilter, EventLog, InMemoryEventLog, Sources } from "@tessera/core"
import { Chunk, Effect, Stream } from "effect"

const registered = Effect.gen(function* () {
  const log = yield* EventLog.EventLog
  const events = Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream(EventFilter.all)))
  return events.map(({ event }) => event).filter((event) => event._tag === "SourcePartitionRegistered")
})

describe("Sources.register", () => {
  it.effect("tells registered, changed and unchanged sources apart and writes only what is new", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const first = yield* Sources.register(log, [
        { ref: "raw/date=1", manifest: { path: "/d/1.csv", checksum: "a" } },
        { ref: "raw/date=2", manifest: { path: "/d/2.csv", checksum: "b" } }
      ])
      expect(first).toMatchObject({ registered: 2, changed: 0, unchanged: 0 })
      const second = yield* Sources.register(log, [
        { ref: "raw/date=1", manifest: { path: "/d/1.csv", checksum: "a" } },
        { ref: "raw/date=2", manifest: { path: "/d/2.csv", checksum: "b2" } },
        { ref: "raw/date=3", manifest: { path: "/d/3.csv", checksum: "c" } }
      ])
      expect(second.outcomes.map((o) => o.outcome)).toEqual(["unchanged", "changed", "registered"])
      expect((yield* registered).map((event) => event.partitionRef)).toEqual([
        "raw/date=1",
        "raw/date=2",
        "raw/date=2",
        "raw/date=3"
      ])
    }).pipe(Effect.provide(InMemoryEventLog.layer))
  )

  it.effect("records each batch in one append, under one registration id", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const count = Sources.BATCH_SIZE * 2 + 7
      const sources = Array.from({ length: count }, (_, i) => ({
        ref: `raw/n=${i}`,
        manifest: { path: `/d/${i}`, checksum: `c${i}` }
      }))
      const before = yield* log.head
      expect((yield* Sources.register(log, sources)).registered).toBe(count)
      const events = yield* registered
      expect(new Set(events.map((event) => event.buildRequestId)).size).toBe(3)
      expect((yield* log.head) - before).toBe(count)
    }).pipe(Effect.provide(InMemoryEventLog.layer))
  )

  it.effect("refuses a batch naming a ref twice, or an invalid ref, and writes nothing", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const twice = yield* Effect.flip(
        Sources.register(log, [
          { ref: "raw/date=1", manifest: { checksum: "a" } },
          { ref: "raw/date=1", manifest: { checksum: "b" } }
        ])
      )
      expect(twice._tag).toBe("DuplicateSource")
      const invalid = yield* Effect.flip(
        Sources.register(log, [
          { ref: "raw/date=1", manifest: { checksum: "a" } },
          { ref: "/raw", manifest: { checksum: "b" } }
        ])
      )
      expect(invalid._tag).toBe("InvalidPartitionRef")
      expect(yield* registered).toEqual([])
    }).pipe(Effect.provide(InMemoryEventLog.layer))
  )
})
