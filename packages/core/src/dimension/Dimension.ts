/**
 * What values a pattern parameter may take: a calendar of dates at a granularity, a static set, or
 * any string. A date dimension's values are wall-clock periods in its time zone, written as
 * `2026-01-05T07` (hourly), `2026-01-05` (daily), `2026-01-05` (weekly: the Monday it starts on) and
 * `2026-01` (monthly); they sort as strings in time order.
 */
import { Either, Schema } from "effect"

export type Granularity = "hourly" | "daily" | "weekly" | "monthly"

export interface DateDimension {
  readonly _tag: "Date"
  readonly granularity: Granularity
  /** The first period, a value of this dimension. */
  readonly start: string
  /** The last period, when the calendar ends. */
  readonly end: string | undefined
  /** The IANA zone the periods are wall-clock time in; it decides which period `current` is. */
  readonly timeZone: string
}

export interface StaticDimension<V extends string = string> {
  readonly _tag: "Static"
  readonly values: ReadonlyArray<V>
}

export interface StringDimension {
  readonly _tag: "String"
}

export type Dimension = DateDimension | StaticDimension | StringDimension

/** The type of a dimension's values: the set's literals for a static set, a string otherwise. */
export type ValueOf<D> = D extends StaticDimension<infer V> ? V : string

/** A dimension declared wrongly: a programming error in a graph definition, thrown like `InvalidPattern`. */
export class InvalidDimension extends Schema.TaggedError<InvalidDimension>()("InvalidDimension", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid partition dimension: ${this.reason}`
  }
}

/** A value that is not one of a dimension's: malformed, before its start or after its end, not in its set. */
export class OutsideDimension extends Schema.TaggedError<OutsideDimension>()("OutsideDimension", {
  param: Schema.String,
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.param}=${JSON.stringify(this.value)} is outside its dimension: ${this.reason}`
  }
}

const HOUR = 3_600_000
const DAY = 24 * HOUR

const formats: Record<Granularity, { readonly example: string; readonly regex: RegExp }> = {
  hourly: { example: "2026-01-05T07", regex: /^(\d{4})-(\d{2})-(\d{2})T(\d{2})$/ },
  daily: { example: "2026-01-05", regex: /^(\d{4})-(\d{2})-(\d{2})$/ },
  weekly: { example: "2026-01-05 (a Monday)", regex: /^(\d{4})-(\d{2})-(\d{2})$/ },
  monthly: { example: "2026-01", regex: /^(\d{4})-(\d{2})$/ }
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/** A period's wall-clock start as UTC fields, so calendar steps never meet a zone's offset changes. */
const toTime = (granularity: Granularity, value: string): number | string => {
  const match = formats[granularity].regex.exec(value)
  if (match === null) return `expected a ${granularity} value like ${formats[granularity].example}`
  const [year, month, day = 1, hour = 0] = match.slice(1).map(Number) as [number, number, number?, number?]
  const time = Date.UTC(year, month - 1, day, hour)
  const back = new Date(time)
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day || hour > 23) {
    return "no such date"
  }
  if (granularity === "weekly" && back.getUTCDay() !== 1) return "a weekly value is the Monday its week starts on"
  return time
}

const fromTime = (granularity: Granularity, time: number): string => {
  const d = new Date(time)
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`
  if (granularity === "monthly") return date
  const day = `${date}-${pad(d.getUTCDate())}`
  return granularity === "hourly" ? `${day}T${pad(d.getUTCHours())}` : day
}

/** The time `n` periods after `time` (before, for a negative `n`). */
const step = (granularity: Granularity, time: number, n: number): number => {
  switch (granularity) {
    case "hourly":
      return time + n * HOUR
    case "daily":
      return time + n * DAY
    case "weekly":
      return time + n * 7 * DAY
    case "monthly": {
      const d = new Date(time)
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1)
    }
  }
}

/** Periods from `from` to `to`, both included (0 when `to` is before `from`). */
const periodsBetween = (granularity: Granularity, from: number, to: number): number => {
  if (to < from) return 0
  if (granularity === "monthly") {
    const a = new Date(from)
    const b = new Date(to)
    return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + b.getUTCMonth() - a.getUTCMonth() + 1
  }
  return Math.round((to - from) / step(granularity, 0, 1)) + 1
}

/**
 * A calendar of periods from `start` (and to `end`, when it ends), in `timeZone` (default UTC).
 * Throws `InvalidDimension` for a malformed start or end, an end before the start, or an unknown zone.
 */
export const date = (options: {
  readonly granularity: Granularity
  readonly start: string
  readonly end?: string | undefined
  readonly timeZone?: string | undefined
}): DateDimension => {
  const timeZone = options.timeZone ?? "UTC"
  try {
    new Intl.DateTimeFormat("en-US", { timeZone })
  } catch {
    throw new InvalidDimension({ reason: `unknown time zone ${JSON.stringify(timeZone)}` })
  }
  const start = toTime(options.granularity, options.start)
  if (typeof start === "string") throw new InvalidDimension({ reason: `start ${options.start}: ${start}` })
  if (options.end !== undefined) {
    const end = toTime(options.granularity, options.end)
    if (typeof end === "string") throw new InvalidDimension({ reason: `end ${options.end}: ${end}` })
    if (end < start) throw new InvalidDimension({ reason: `end ${options.end} is before start ${options.start}` })
  }
  return { _tag: "Date", granularity: options.granularity, start: options.start, end: options.end, timeZone }
}

/** A static set of values, e.g. `values(["red", "green", "blue"])`. Throws `InvalidDimension` when empty or repeated. */
export const values = <const V extends string>(set: ReadonlyArray<V>): StaticDimension<V> => {
  if (set.length === 0) throw new InvalidDimension({ reason: "a static dimension needs at least one value" })
  const malformed = set.find((value) => value === "" || value.includes("/") || value === "*" || value.includes(".."))
  if (malformed !== undefined) {
    throw new InvalidDimension({ reason: `${JSON.stringify(malformed)} cannot be a value: no "", "/", "*" or ".."` })
  }
  const repeated = set.find((value, i) => set.indexOf(value) !== i)
  if (repeated !== undefined) throw new InvalidDimension({ reason: `${JSON.stringify(repeated)} is listed twice` })
  return { _tag: "Static", values: set }
}

/** Any string: an undeclared parameter. */
export const string: StringDimension = { _tag: "String" }

const dateTime = (dimension: DateDimension, param: string, value: string): Either.Either<number, OutsideDimension> => {
  const time = toTime(dimension.granularity, value)
  if (typeof time === "string") return Either.left(new OutsideDimension({ param, value, reason: time }))
  if (time < (toTime(dimension.granularity, dimension.start) as number)) {
    return Either.left(new OutsideDimension({ param, value, reason: `the calendar starts at ${dimension.start}` }))
  }
  if (dimension.end !== undefined && time > (toTime(dimension.granularity, dimension.end) as number)) {
    return Either.left(new OutsideDimension({ param, value, reason: `the calendar ends at ${dimension.end}` }))
  }
  return Either.right(time)
}

/** `value` when it is one of the dimension's values. */
export const check = <D extends Dimension>(
  dimension: D,
  param: string,
  value: string
): Either.Either<ValueOf<D>, OutsideDimension> => {
  switch (dimension._tag) {
    case "String":
      return Either.right(value as ValueOf<D>)
    case "Static":
      return dimension.values.includes(value)
        ? Either.right(value as ValueOf<D>)
        : Either.left(new OutsideDimension({ param, value, reason: `not one of ${dimension.values.join(", ")}` }))
    case "Date":
      return Either.map(dateTime(dimension, param, value), () => value as ValueOf<D>)
  }
}

/** Values taken one at a time, with their count known up front, so 100k of them never sit in memory. */
export interface Values {
  readonly size: number
  readonly [Symbol.iterator]: () => Iterator<string>
}

/** The periods from `from` to `to`, both included; both must be in the dimension, `from` not after `to`. */
export const range = (
  dimension: DateDimension,
  param: string,
  from: string,
  to: string
): Either.Either<Values, OutsideDimension> =>
  Either.flatMap(Either.all([dateTime(dimension, param, from), dateTime(dimension, param, to)]), ([a, b]) => {
    if (b < a)
      return Either.left(new OutsideDimension({ param, value: `${from}..${to}`, reason: `${to} is before ${from}` }))
    const size = periodsBetween(dimension.granularity, a, b)
    return Either.right({
      size,
      *[Symbol.iterator]() {
        for (let i = 0; i < size; i++) yield fromTime(dimension.granularity, step(dimension.granularity, a, i))
      }
    })
  })

/** Every value of a dimension that has a fixed set of them: a static set, or a calendar with an end. */
export const all = (dimension: Dimension, param: string): Either.Either<Values, OutsideDimension> => {
  if (dimension._tag === "Static") {
    const set = dimension.values
    return Either.right({ size: set.length, [Symbol.iterator]: () => set[Symbol.iterator]() })
  }
  if (dimension._tag === "Date" && dimension.end !== undefined) {
    return range(dimension, param, dimension.start, dimension.end)
  }
  return Either.left(
    new OutsideDimension({
      param,
      value: "*",
      reason: "only a static set or a calendar with an end has every value listed"
    })
  )
}

/**
 * The `n` periods ending at `end` (included), oldest first: `window(daily, "date", "2026-01-07", 7)`
 * is 2026-01-01 … 2026-01-07. Refused when the first is before the calendar's start.
 */
export const window = (
  dimension: DateDimension,
  param: string,
  end: string,
  n: number
): Either.Either<ReadonlyArray<string>, OutsideDimension> =>
  Either.flatMap(dateTime(dimension, param, end), (time) => {
    const first = fromTime(dimension.granularity, step(dimension.granularity, time, 1 - n))
    return Either.map(range(dimension, param, first, end), (values) => [...values])
  })

/** The value `n` periods after `value` (before, for a negative `n`), whether or not it is in the calendar. */
export const shift = (
  dimension: DateDimension,
  param: string,
  value: string,
  n: number
): Either.Either<string, OutsideDimension> => {
  const time = toTime(dimension.granularity, value)
  if (typeof time === "string") return Either.left(new OutsideDimension({ param, value, reason: time }))
  return Either.right(fromTime(dimension.granularity, step(dimension.granularity, time, n)))
}

/** The period holding the instant `now` (ms since epoch) on the wall clocks of the dimension's zone. */
export const current = (dimension: DateDimension, now: number): string => {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: dimension.timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit"
    })
      .formatToParts(now)
      .map((part) => [part.type, Number(part.value)])
  ) as Record<"year" | "month" | "day" | "hour", number>
  let time = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour)
  if (dimension.granularity !== "hourly") time = Date.UTC(parts.year, parts.month - 1, parts.day)
  if (dimension.granularity === "weekly") time -= ((new Date(time).getUTCDay() + 6) % 7) * DAY
  return fromTime(dimension.granularity, time)
}
