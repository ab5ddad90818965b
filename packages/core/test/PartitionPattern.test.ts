import { describe, expect, it } from "@effect/vitest"
import { PartitionPattern, pattern } from "@tessera/core"
import { Either, FastCheck as fc, Option } from "effect"

describe("PartitionPattern", () => {
  const daily = pattern("sales/date={date}")
  const byCategory = pattern("reviews/category={category}/date={date}")

  it("parses and formats typed params", () => {
    expect(Option.getOrThrow(daily.parse("sales/date=2026-11-01"))).toEqual({ date: "2026-11-01" })
    expect(Option.isNone(daily.parse("sales/date=2026-11-01/extra"))).toBe(true)
    expect(Option.isNone(daily.parse("other/date=1"))).toBe(true)
    expect(byCategory.params).toEqual(["category", "date"])
    expect(Either.getOrThrow(byCategory.format({ category: "comedy", date: "2026-01-02" }))).toBe(
      "reviews/category=comedy/date=2026-01-02"
    )
  })

  it("refuses params that contain '/' or are empty", () => {
    const slash = daily.format({ date: "2026/11/01" })
    expect(Either.isLeft(slash) && slash.left.message).toContain("may not contain '/'")
    const empty = daily.format({ date: "" })
    expect(Either.isLeft(empty) && empty.left._tag).toBe("InvalidPatternParams")
  })

  it("refuses malformed templates", () => {
    for (const template of ["sales/date={date", "sales/{1x}", "a/{x}/{x}", "/abs/{x}", "a/{x}{y}"]) {
      expect(() => pattern(template)).toThrow(PartitionPattern.InvalidPattern)
    }
  })

  it("escapes regex characters in literal text", () => {
    const dotted = pattern("logs/v1.2/h={hour}")
    expect(dotted.matches("logs/v1.2/h=3")).toBe(true)
    expect(dotted.matches("logs/v1x2/h=3")).toBe(false)
  })

  it.prop(
    "format then parse returns the params",
    [fc.stringMatching(/^[A-Za-z0-9._=-]{1,20}$/), fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/)],
    ([category, date]) => {
      fc.pre(category !== "." && category !== ".." && date !== "." && date !== "..")
      const ref = Either.getOrThrow(byCategory.format({ category, date }))
      expect(Option.getOrThrow(byCategory.parse(ref))).toEqual({ category, date })
    }
  )
})
