import { describe, expect, it } from "@effect/vitest"
import { Wakeup } from "@tessera/core"
import { Effect, Fiber } from "effect"

const appended = (first: number, last: number, kinds: ReadonlyArray<string>, builds?: ReadonlyArray<string>) => ({
  first,
  last,
  kinds,
  ...(builds === undefined ? {} : { builds })
})

describe("Wakeup", () => {
  it.effect("a tail skips only seqs the signals covered, none of which can match its filter", () =>
    Effect.gen(function* () {
      const wakeup = yield* Wakeup.make
      const cancels = { kinds: ["BuildRequestStatusChanged" as const] }
      yield* wakeup.appended(appended(1, 3, ["JobRunStatusChanged", "PartitionStatusChanged"], ["b1"]))
      yield* wakeup.appended(appended(4, 4, ["JobRunHeartbeat"], ["b1"]))
      expect(yield* wakeup.knownHead).toBe(4)
      expect(yield* wakeup.mayMatch(cancels, 0, 4)).toBe(false)
      expect(yield* wakeup.mayMatch({ kinds: ["JobRunHeartbeat"] }, 0, 4)).toBe(true)
      expect(yield* wakeup.mayMatch({ buildRequestIds: ["b2"] }, 0, 4)).toBe(false)
      expect(yield* wakeup.mayMatch({ buildRequestIds: ["b1"] }, 3, 4)).toBe(true)
      // A filter the signals say nothing about may always match.
      expect(yield* wakeup.mayMatch({ partitionRefs: ["a/b=1"] }, 0, 4)).toBe(true)
      // Seqs no signal covered (another process's append on SQLite, a missed notification) are read.
      yield* wakeup.appended(appended(7, 7, ["JobRunHeartbeat"], ["b1"]))
      expect(yield* wakeup.mayMatch(cancels, 4, 7)).toBe(true)
      expect(yield* wakeup.mayMatch(cancels, 0, 8)).toBe(true)
      // An append naming too many builds to list may match any build.
      yield* wakeup.appended(appended(8, 9, ["JobRunHeartbeat"]))
      expect(yield* wakeup.mayMatch({ buildRequestIds: ["b9"], kinds: ["JobRunHeartbeat"] }, 7, 9)).toBe(true)
      expect(yield* wakeup.mayMatch(cancels, 7, 9)).toBe(false)
    })
  )

  it.effect("a tail far behind what the signals remember reads", () =>
    Effect.gen(function* () {
      const wakeup = yield* Wakeup.make
      for (let seq = 1; seq <= 2000; seq++) yield* wakeup.appended(appended(seq, seq, ["JobRunHeartbeat"], ["b1"]))
      expect(yield* wakeup.mayMatch({ kinds: ["Delegated"] }, 0, 2000)).toBe(true)
      expect(yield* wakeup.mayMatch({ kinds: ["Delegated"] }, 1500, 2000)).toBe(false)
    })
  )

  it.effect("a handle taken before a signal completes at it", () =>
    Effect.gen(function* () {
      const wakeup = yield* Wakeup.make
      const handle = yield* wakeup.next
      const waiting = yield* Effect.fork(handle)
      yield* wakeup.appended(appended(1, 1, ["Delegated"]))
      yield* Fiber.join(waiting)
    })
  )

  it("what an append made visible travels as a notification payload, and nothing else reads as one", () => {
    const summary = appended(5, 9, ["Delegated", "JobRunStatusChanged"], ["b1", "b2"])
    expect(Wakeup.decode(Wakeup.encode(summary))).toEqual(summary)
    expect(Wakeup.decode(Wakeup.encode(appended(1, 2, ["Delegated"])))).toEqual(appended(1, 2, ["Delegated"]))
    for (const payload of ["12", "queue", "{not json", '{"first":1,"last":"2","kinds":[]}', "null", '{"first":1}'])
      expect(Wakeup.decode(payload)).toBeUndefined()
  })
})
