import { describe, expect, it } from "@effect/vitest"
import { Dimension, Graph, Job, partitions, pattern, Selection } from "@tessera/core"
import { Effect } from "effect"

const votes = partitions("votes/date={date}/color={color}", {
  date: Dimension.date({ granularity: "daily", start: "2026-01-01" }),
  color: Dimension.values(["red", "blue"])
})

const graph = Graph.make([
  Job.make({
    name: "votes",
    outputs: [votes],
    config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [] })),
    run: () => Effect.succeed({})
  }),
  Job.make({
    name: "free",
    outputs: [pattern("free/name={name}")],
    config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [] })),
    run: () => Effect.succeed({})
  })
])

describe("Selection", () => {
  it.effect("expands ranges and sets as a cross product, each ref once, in the order given", () =>
    Effect.gen(function* () {
      const refs = yield* Selection.expandAll(graph, [
        "votes/date=2026-01-01..2026-01-02/color=*",
        "votes/date=2026-01-02/color=red",
        "free/name=x"
      ])
      expect(refs).toEqual([
        "votes/date=2026-01-01/color=red",
        "votes/date=2026-01-01/color=blue",
        "votes/date=2026-01-02/color=red",
        "votes/date=2026-01-02/color=blue",
        "free/name=x"
      ])
    })
  )

  it.effect("fills {param} from the ranges it is given, and refuses one left open", () =>
    Effect.gen(function* () {
      const selections = yield* Selection.select(
        graph,
        ["votes/date={date}/color=red"],
        new Map([["date", "2026-01-01..2026-01-31"]])
      )
      expect(Selection.total(selections)).toBe(31)
      const open = yield* Effect.flip(Selection.select(graph, ["votes/date={date}/color=red"]))
      expect(open.message).toContain("give {date} a value")
    })
  )

  it.effect("refuses what it cannot expand, and more than a build holds, naming why", () =>
    Effect.gen(function* () {
      const before = yield* Effect.flip(Selection.expandAll(graph, ["votes/date=2025-12-31/color=red"]))
      expect(before).toMatchObject({ _tag: "InvalidSelection" })
      expect(before.message).toContain("starts at 2026-01-01")
      const green = yield* Effect.flip(Selection.expandAll(graph, ["votes/date=2026-01-01/color=green"]))
      expect(green._tag).toBe("InvalidSelection")
      const malformed = yield* Effect.flip(Selection.expandAll(graph, ["votes//x"]))
      expect(malformed._tag).toBe("InvalidPartitionRef")
      const tooMany = yield* Effect.flip(Selection.expandAll(graph, ["votes/date=2026-01-01..2026-12-31/color=*"], 100))
      expect(tooMany).toMatchObject({ _tag: "TooManyPartitions", partitions: 730, limit: 100 })
      const unknown = yield* Effect.flip(Selection.expandAll(graph, ["nobody/date=2026-01-01..2026-01-03"]))
      expect(unknown.message).toContain("no job produces it")
    })
  )
})
