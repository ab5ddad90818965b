import { describe, expect, it } from "@effect/vitest"
import { Dimension, Partitions, partitions } from "@tessera/core"
import { Either } from "effect"

const left = <E>(either: Either.Either<unknown, E>): E => Either.getOrThrowWith(Either.flip(either), () => "no error")

describe("Dimension", () => {
  const daily = Dimension.date({ granularity: "daily", start: "2026-01-01", end: "2026-12-31" })

  it("ranges over each granularity, both ends included, across month and year ends", () => {
    const range = (d: Dimension.DateDimension, a: string, b: string) => [
      ...Either.getOrThrow(Dimension.range(d, "t", a, b))
    ]
    expect(range(daily, "2026-02-27", "2026-03-02")).toEqual(["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"])
    const hourly = Dimension.date({ granularity: "hourly", start: "2026-01-01T00" })
    expect(range(hourly, "2026-01-01T22", "2026-01-02T01")).toEqual([
      "2026-01-01T22",
      "2026-01-01T23",
      "2026-01-02T00",
      "2026-01-02T01"
    ])
    const weekly = Dimension.date({ granularity: "weekly", start: "2025-12-29" })
    expect(range(weekly, "2025-12-29", "2026-01-12")).toEqual(["2025-12-29", "2026-01-05", "2026-01-12"])
    const monthly = Dimension.date({ granularity: "monthly", start: "2025-11" })
    expect(range(monthly, "2025-11", "2026-02")).toEqual(["2025-11", "2025-12", "2026-01", "2026-02"])
    expect(Either.getOrThrow(Dimension.range(daily, "date", "2026-01-01", "2026-03-31")).size).toBe(90)
  })

  it("refuses values outside the calendar or the set, naming why", () => {
    expect(left(Dimension.check(daily, "date", "2025-12-31")).message).toBe(
      'date="2025-12-31" is outside its dimension: the calendar starts at 2026-01-01'
    )
    expect(left(Dimension.check(daily, "date", "2027-01-01")).reason).toContain("ends at 2026-12-31")
    expect(left(Dimension.check(daily, "date", "2026-02-30")).reason).toBe("no such date")
    expect(left(Dimension.check(daily, "date", "26-1-1")).reason).toContain("like 2026-01-05")
    const weekly = Dimension.date({ granularity: "weekly", start: "2025-12-29" })
    expect(left(Dimension.check(weekly, "week", "2026-01-06")).reason).toContain("Monday")
    const colors = Dimension.values(["red", "blue"])
    expect(left(Dimension.check(colors, "color", "green"))._tag).toBe("OutsideDimension")
    expect(Either.getOrThrow(Dimension.check(Dimension.string, "x", "anything"))).toBe("anything")
  })

  it("a window is the n periods ending at a value, refused when it reaches before the start", () => {
    expect(Either.getOrThrow(Dimension.window(daily, "date", "2026-01-07", 7))).toEqual([
      "2026-01-01",
      "2026-01-02",
      "2026-01-03",
      "2026-01-04",
      "2026-01-05",
      "2026-01-06",
      "2026-01-07"
    ])
    expect(left(Dimension.window(daily, "date", "2026-01-06", 7)).reason).toContain("starts at 2026-01-01")
  })

  it("the current period is read on the wall clock of the dimension's zone", () => {
    const now = Date.UTC(2026, 0, 4, 23, 30) // Sunday 23:30 UTC is Monday 08:30 in Tokyo
    const tokyo = Dimension.date({ granularity: "daily", start: "2026-01-01", timeZone: "Asia/Tokyo" })
    expect(Dimension.current(tokyo, now)).toBe("2026-01-05")
    expect(Dimension.current(daily, now)).toBe("2026-01-04")
    expect(Dimension.current(Dimension.date({ granularity: "weekly", start: "2025-12-29" }), now)).toBe("2025-12-29")
    expect(
      Dimension.current(Dimension.date({ granularity: "hourly", start: "2026-01-01T00", timeZone: "Asia/Tokyo" }), now)
    ).toBe("2026-01-05T08")
  })

  it("refuses malformed declarations as a graph definition error", () => {
    expect(() => Dimension.date({ granularity: "daily", start: "2026-13-01" })).toThrow(Dimension.InvalidDimension)
    expect(() => Dimension.date({ granularity: "daily", start: "2026-01-02", end: "2026-01-01" })).toThrow(
      Dimension.InvalidDimension
    )
    expect(() => Dimension.date({ granularity: "daily", start: "2026-01-01", timeZone: "Mars/Olympus" })).toThrow(
      Dimension.InvalidDimension
    )
    expect(() => Dimension.values(["a", "a"])).toThrow(Dimension.InvalidDimension)
    expect(() => Dimension.values(["a/b"])).toThrow(Dimension.InvalidDimension)
    expect(() => partitions("x/date={date}", { day: Dimension.string } as never)).toThrow(Dimension.InvalidDimension)
  })
})

describe("Partitions", () => {
  const day = Dimension.date({ granularity: "daily", start: "2026-01-01" })
  const votes = partitions("votes/date={date}/color={color}", { date: day, color: Dimension.values(["red", "blue"]) })

  it("decodes and encodes refs typed by their dimensions, refusing values outside them", () => {
    const params = Either.getOrThrow(votes.decode("votes/date=2026-01-05/color=red"))
    const color: "red" | "blue" = params.color
    expect({ ...params, color }).toEqual({ date: "2026-01-05", color: "red" })
    expect(Either.getOrThrow(votes.encode({ date: "2026-01-06", color: "blue" }))).toBe(
      "votes/date=2026-01-06/color=blue"
    )
    expect(left(votes.decode("votes/date=2026-01-05/color=green"))._tag).toBe("OutsideDimension")
    expect(left(votes.decode("other/date=2026-01-05"))._tag).toBe("RefDoesNotMatch")
    expect(left(votes.encode({ date: "2025-06-01", color: "red" })).message).toContain("starts at 2026-01-01")
    expect(votes.matches("votes/date=2026-01-05/color=red")).toBe(true)
  })

  it("window gives the refs of the periods ending at a date, the other params kept", () => {
    expect(Either.getOrThrow(votes.window({ date: "2026-01-03", color: "blue" }, "date", 3))).toEqual([
      "votes/date=2026-01-01/color=blue",
      "votes/date=2026-01-02/color=blue",
      "votes/date=2026-01-03/color=blue"
    ])
  })

  it("expands ranges and * as a cross product, counted up front and listed one at a time", () => {
    const expansion = Either.getOrThrow(votes.expand("votes/date=2026-01-30..2026-02-01/color=*"))
    expect(expansion.size).toBe(6)
    expect([...expansion.refs()]).toEqual([
      "votes/date=2026-01-30/color=red",
      "votes/date=2026-01-30/color=blue",
      "votes/date=2026-01-31/color=red",
      "votes/date=2026-01-31/color=blue",
      "votes/date=2026-02-01/color=red",
      "votes/date=2026-02-01/color=blue"
    ])
    expect(Partitions.isSelection("votes/date=2026-01-30..2026-02-01/color=red")).toBe(true)
    expect(Partitions.isSelection("votes/date=2026-01-30/color=red")).toBe(false)
    expect(left(votes.expand("votes/date=2025-12-30..2026-01-02/color=red")).message).toContain("starts at 2026-01-01")
    expect(left(votes.expand("votes/date=*/color=red")).message).toContain("calendar with an end")
    const undeclared = partitions("raw/date={date}", {})
    expect(Either.getOrThrow(undeclared.expand("raw/date=2026-01-01..2026-03-31")).size).toBe(90)
  })

  it("expands 100k partitions without listing them: size first, then one ref at a time", () => {
    const hourly = partitions("events/hour={hour}/color={color}", {
      hour: Dimension.date({ granularity: "hourly", start: "2020-01-01T00" }),
      color: Dimension.values(["red", "blue"])
    })
    const expansion = Either.getOrThrow(hourly.expand("events/hour=2020-01-01T00..2025-09-14T07/color=*"))
    expect(expansion.size).toBe(100_000)
    let count = 0
    let last = ""
    for (const ref of expansion.refs()) {
      count++
      last = ref
    }
    expect(count).toBe(100_000)
    expect(last).toBe("events/hour=2025-09-14T07/color=blue")
  })
})
