import { describe, expect, it } from "@effect/vitest"
import { Graph, Job, Plan, pattern } from "@tessera/core"
import { Effect, Either, Option } from "effect"

const noop = () => Effect.succeed({})

const raw = pattern("raw/date={date}")
const clean = Job.make({
  name: "clean",
  outputs: [pattern("clean/date={date}")],
  config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [ref.replace("clean/", "raw/")] })),
  run: noop
})
const weekly = Job.make({
  name: "weekly",
  outputs: [pattern("weekly/end={date}")],
  config: (refs) =>
    refs.map((ref) => {
      const end = Number(ref.split("=")[1])
      return { outputs: [ref], inputs: [end - 1, end].map((day) => `clean/date=${day}`) }
    }),
  run: noop
})

describe("Graph", () => {
  it("looks up the single producer, none for a source, an error for two", () => {
    const graph = Graph.make([clean, weekly])
    expect(Option.getOrThrow(Either.getOrThrow(graph.lookup("clean/date=1"))).name).toBe("clean")
    expect(Option.isNone(Either.getOrThrow(graph.lookup("raw/date=1")))).toBe(true)
    const twin = Job.make({ name: "twin", outputs: [pattern("clean/date={day}")], run: noop })
    const ambiguous = Graph.make([clean, twin]).lookup("clean/date=1")
    expect(Either.isLeft(ambiguous) && ambiguous.left.message).toContain("clean, twin")
    expect(raw.matches("raw/date=1")).toBe(true)
  })

  it("refuses two jobs with one name", () => {
    expect(() => Graph.make([clean, clean])).toThrow(Graph.DuplicateJobName)
  })
})

describe("Plan", () => {
  it("expands requested refs through config into a DAG in dependency order", () => {
    const plan = Either.getOrThrow(Plan.plan(Graph.make([clean, weekly]), ["weekly/end=3"]))
    expect([...plan.runs.keys()].sort()).toEqual(["clean:clean/date=2", "clean:clean/date=3", "weekly:weekly/end=3"])
    expect([...plan.sources].sort()).toEqual(["raw/date=2", "raw/date=3"])
    expect(plan.order.indexOf("weekly:weekly/end=3")).toBe(2)
    expect([...(plan.runs.get("weekly:weekly/end=3")?.dependsOn ?? [])].sort()).toEqual([
      "clean:clean/date=2",
      "clean:clean/date=3"
    ])
  })

  it("names the refs of a cycle", () => {
    const a = Job.make({
      name: "a",
      outputs: [pattern("a/x={x}")],
      config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [ref.replace("a/", "b/")] })),
      run: noop
    })
    const b = Job.make({
      name: "b",
      outputs: [pattern("b/x={x}")],
      config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [ref.replace("b/", "a/")] })),
      run: noop
    })
    const result = Plan.plan(Graph.make([a, b]), ["a/x=1"])
    expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "CycleDetected" })
    if (Either.isLeft(result)) {
      expect(result.left.message).toContain("a/x=1")
      expect(result.left.message).toContain("b/x=1")
    }
  })

  it("reports bad configs and bad refs", () => {
    const lazy = Job.make({ name: "lazy", outputs: [pattern("lazy/x={x}")], config: () => [], run: noop })
    const uncovered = Plan.plan(Graph.make([lazy]), ["lazy/x=1"])
    expect(Either.isLeft(uncovered) && uncovered.left.message).toContain("no run for them")
    const stray = Job.make({
      name: "stray",
      outputs: [pattern("stray/x={x}")],
      config: (refs) => refs.map(() => ({ outputs: ["elsewhere/x=1"], inputs: [] })),
      run: noop
    })
    const strayResult = Plan.plan(Graph.make([stray]), ["stray/x=1"])
    expect(Either.isLeft(strayResult) && strayResult.left.message).toContain("matches none of its patterns")
    const badRef = Plan.plan(Graph.make([clean]), ["/clean/date=1"])
    expect(Either.isLeft(badRef) && badRef.left._tag).toBe("InvalidPartitionRef")
  })

  it("plans a deep chain without overflowing the stack", () => {
    const chain = Job.make({
      name: "chain",
      outputs: [pattern("chain/n={n}")],
      config: (refs) =>
        refs.map((ref) => {
          const n = Number(ref.split("=")[1])
          return { outputs: [ref], inputs: n === 0 ? [] : [`chain/n=${n - 1}`] }
        }),
      run: noop
    })
    const plan = Either.getOrThrow(Plan.plan(Graph.make([chain]), ["chain/n=20000"]))
    expect(plan.order[0]).toBe("chain:chain/n=0")
    expect(plan.runs.size).toBe(20001)
  })
})
