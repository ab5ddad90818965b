import { describe, expect, it } from "@effect/vitest"
import { GroupCommit } from "@tessera/core"
import { Deferred, Effect, Either, Exit, FastCheck as fc, Fiber, Scheduler, Scope } from "effect"

/** A commit that records its groups; items below zero are refused alone, and "boom" fails the whole group. */
const recorder = () => {
  const groups: Array<ReadonlyArray<number>> = []
  const commit = (items: ReadonlyArray<number>) =>
    Effect.suspend(() => {
      groups.push(items)
      if (items.includes(999)) return Effect.fail("boom")
      return Effect.succeed(items.map((n) => (n < 0 ? Either.left(`refused ${n}`) : Either.right(n * 10))))
    })
  return { groups, commit }
}

const closed = () => "closed"

describe("GroupCommit", () => {
  it.scoped("concurrent submits share groups, in order, and each gets its own answer", () =>
    Effect.gen(function* () {
      const { groups, commit } = recorder()
      const group = yield* GroupCommit.make({ commit, maxWeight: 100, closed })
      const items = Array.from({ length: 40 }, (_, i) => (i % 7 === 3 ? -i : i))
      const results = yield* Effect.all(
        items.map((n) => Effect.either(group.submit(n))),
        { concurrency: "unbounded" }
      )
      expect(results).toEqual(items.map((n) => (n < 0 ? Either.left(`refused ${n}`) : Either.right(n * 10))))
      // Fewer commits than items, and every item committed exactly once, in submission order.
      expect(groups.length).toBeLessThan(items.length)
      expect(groups.flat()).toEqual(items)
    })
  )

  it.scoped(
    "callers on a scheduler of their own, a few rounds between their appends, still share groups (builds run on one)",
    () =>
      Effect.gen(function* () {
        const { groups, commit } = recorder()
        const group = yield* GroupCommit.make({ commit, maxWeight: 100, closed })
        // Each caller appends, then takes a few scheduler rounds (as a job's claim, fiber and result do) before the next.
        const caller = (lane: number) =>
          Effect.forEach(
            Array.from({ length: 5 }, (_, i) => lane * 10 + i),
            (n) => Effect.zipLeft(group.submit(n), Effect.repeatN(Effect.yieldNow(), 2)),
            { discard: true }
          )
        yield* Effect.forEach([1, 2, 3, 4, 5, 6, 7, 8], caller, { concurrency: "unbounded", discard: true }).pipe(
          Effect.withScheduler(Scheduler.timer(0))
        )
        expect(groups.flat().sort((a, b) => a - b)).toHaveLength(40)
        // Gathering on its own scheduler, the committer took each item alone: 40 groups.
        expect(groups.length).toBeLessThanOrEqual(20)
      })
  )

  it.scoped("a group never exceeds its weight, but a heavier item is still committed alone", () =>
    Effect.gen(function* () {
      const { groups, commit } = recorder()
      const group = yield* GroupCommit.make({ commit, weight: (n: number) => Math.abs(n), maxWeight: 10, closed })
      const items = [3, 4, 5, 50, 2, 2, 2, 2, 2, 1]
      yield* Effect.all(
        items.map((n) => group.submit(n)),
        { concurrency: "unbounded" }
      )
      for (const g of groups) {
        const total = g.reduce((sum, n) => sum + n, 0)
        expect(g.length === 1 || total <= 10).toBe(true)
      }
      expect(groups.flat()).toEqual(items)
    })
  )

  it.scoped("a failed commit fails every item of its group and no other", () =>
    Effect.gen(function* () {
      const { commit } = recorder()
      const group = yield* GroupCommit.make({ commit, maxWeight: 100, closed })
      const first = yield* Effect.either(group.submit(1))
      const results = yield* Effect.all([Effect.either(group.submit(2)), Effect.either(group.submit(999))], {
        concurrency: "unbounded"
      })
      expect(first).toEqual(Either.right(10))
      expect(results).toEqual([Either.left("boom"), Either.left("boom")])
      expect(yield* group.submit(3)).toBe(30)
    })
  )

  it.effect("an item submitted after the scope closed fails at once, committing nothing", () =>
    Effect.gen(function* () {
      const { groups, commit } = recorder()
      const scope = yield* Scope.make()
      const group = yield* Scope.extend(GroupCommit.make({ commit, maxWeight: 100, closed }), scope)
      expect(yield* group.submit(1)).toBe(10)
      yield* Scope.close(scope, Exit.void)
      expect(yield* Effect.either(group.submit(2))).toEqual(Either.left("closed"))
      expect(groups).toEqual([[1]])
    })
  )

  it.effect("items still waiting when the scope closes fail with the closed error; a group in flight is answered", () =>
    Effect.gen(function* () {
      const groups: Array<ReadonlyArray<number>> = []
      const entered = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      // The first group blocks until released, so the items after it are still waiting.
      const commit = (items: ReadonlyArray<number>) =>
        Effect.gen(function* () {
          groups.push(items)
          if (groups.length === 1) {
            yield* Deferred.succeed(entered, undefined)
            yield* Deferred.await(release)
          }
          return items.map((n) => Either.right(n * 10))
        })
      const scope = yield* Scope.make()
      const group = yield* Scope.extend(GroupCommit.make({ commit, maxWeight: 1, closed }), scope)
      const first = yield* Effect.fork(Effect.either(group.submit(1)))
      yield* Deferred.await(entered)
      const waiting = yield* Effect.fork(Effect.either(group.submit(2)))
      yield* Effect.yieldNow()
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      expect(yield* Fiber.join(waiting)).toEqual(Either.left("closed"))
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(closing)
      expect(yield* Fiber.join(first)).toEqual(Either.right(10))
      expect(groups).toEqual([[1]])
    })
  )

  it.scoped.prop(
    "whatever the interleaving, each item is committed once and answered with its own result",
    [fc.array(fc.array(fc.integer({ min: -5, max: 50 }), { maxLength: 6 }), { minLength: 1, maxLength: 8 })],
    ([lanes]) =>
      Effect.gen(function* () {
        const { groups, commit } = recorder()
        const group = yield* GroupCommit.make({ commit, maxWeight: 4, closed })
        const results = yield* Effect.all(
          lanes.map((lane) => Effect.forEach(lane, (n) => Effect.either(group.submit(n)))),
          { concurrency: "unbounded" }
        )
        expect(results).toEqual(
          lanes.map((lane) => lane.map((n) => (n < 0 ? Either.left(`refused ${n}`) : Either.right(n * 10))))
        )
        expect(groups.flat().sort((a, b) => a - b)).toEqual(lanes.flat().sort((a, b) => a - b))
        expect(groups.every((g) => g.length <= 4)).toBe(true)
      })
  )
})
