import { describe, expect, it } from "@effect/vitest"
import { GroupCommit } from "@tessera/core"
import { Effect, Either, FastCheck as fc } from "effect"

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

describe("GroupCommit", () => {
  it.scoped("concurrent submits share groups, in order, and each gets its own answer", () =>
    Effect.gen(function* () {
      const { groups, commit } = recorder()
      const group = yield* GroupCommit.make({ commit, maxWeight: 100 })
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

  it.scoped("a group never exceeds its weight, but a heavier item is still committed alone", () =>
    Effect.gen(function* () {
      const { groups, commit } = recorder()
      const group = yield* GroupCommit.make({ commit, weight: (n: number) => Math.abs(n), maxWeight: 10 })
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
      const group = yield* GroupCommit.make({ commit, maxWeight: 100 })
      const first = yield* Effect.either(group.submit(1))
      const results = yield* Effect.all([Effect.either(group.submit(2)), Effect.either(group.submit(999))], {
        concurrency: "unbounded"
      })
      expect(first).toEqual(Either.right(10))
      expect(results).toEqual([Either.left("boom"), Either.left("boom")])
      expect(yield* group.submit(3)).toBe(30)
    })
  )

  it.scoped.prop(
    "whatever the interleaving, each item is committed once and answered with its own result",
    [fc.array(fc.array(fc.integer({ min: -5, max: 50 }), { maxLength: 6 }), { minLength: 1, maxLength: 8 })],
    ([lanes]) =>
      Effect.gen(function* () {
        const { groups, commit } = recorder()
        const group = yield* GroupCommit.make({ commit, maxWeight: 4 })
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
