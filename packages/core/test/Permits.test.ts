import { describe, expect, it } from "@effect/vitest"
import { Permits } from "@tessera/core"
import { Deferred, Effect, Fiber, Option } from "effect"

/** Whether a permit is free now: taking one then returns at once, and a blocked wait gives up. */
const tryPermit = <A>(permits: Permits.Permits, value: A) =>
  Effect.timeoutOption(permits.withPermit(Effect.succeed(value)), "20 millis")

describe("Permits", () => {
  it.live("at most n hold a permit at once, and waiters get theirs first come, first served", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(2)
      let holding = 0
      let most = 0
      const order: Array<number> = []
      yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) =>
          permits.withPermit(
            Effect.gen(function* () {
              holding++
              most = Math.max(most, holding)
              order.push(i)
              yield* Effect.sleep("1 millis")
              holding--
            })
          ),
        { concurrency: "unbounded", discard: true }
      )
      expect(most).toBe(2)
      expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i))
    })
  )

  it.live("a waiter interrupted in line gives up its place, and a permit handed to it is passed on", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(1)
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(permits.withPermit(Deferred.await(release)))
      yield* Effect.sleep("5 millis")
      const impatient = yield* Effect.fork(permits.withPermit(Effect.never))
      const patient = yield* Effect.fork(permits.withPermit(Effect.succeed("ran")))
      yield* Effect.sleep("5 millis")
      expect(yield* tryPermit(permits, 1)).toEqual(Option.none())
      yield* Fiber.interrupt(impatient)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(patient)).toBe("ran")
      expect(yield* tryPermit(permits, 1)).toEqual(Option.some(1))
    })
  )

  it.live("a failing or interrupted holder releases its permit", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(1)
      yield* Effect.flip(permits.withPermit(Effect.fail("no")))
      const stuck = yield* Effect.fork(permits.withPermit(Effect.never))
      yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(stuck)
      expect(yield* tryPermit(permits, "free")).toEqual(Option.some("free"))
    })
  )
})
