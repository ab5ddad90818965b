/**
 * A partition pattern whose parameters have dimensions: `partitions("sales/date={date}", { date:
 * Dimension.date({ granularity: "daily", start: "2026-01-01" }) })`. It is a `PartitionPattern` (a job
 * lists it in `outputs`) whose `decode`/`encode` are typed by the dimensions and refuse values outside
 * them, with lookback windows and the range expansion backfills use.
 */
import { Either, Option, Schema } from "effect"
import {
  type InvalidPatternParams,
  type PartitionPattern,
  type ParamsOf,
  pattern
} from "../partition/PartitionPattern.js"
import type { PartitionRef } from "../partition/PartitionRef.js"
import * as Dimension from "./Dimension.js"

export type Dimensions<S extends string> = { readonly [K in keyof ParamsOf<S>]?: Dimension.Dimension }

/** The params of a ref, each typed by its dimension: a static set's literals, a string otherwise. */
export type TypedParams<S extends string, D> = {
  readonly [K in keyof ParamsOf<S>]: K extends keyof D ? Dimension.ValueOf<D[K]> : string
}

/** Params whose dimension is a calendar: the ones a window or a date range runs over. */
export type DateParams<D> = { readonly [K in keyof D]: D[K] extends Dimension.DateDimension ? K : never }[keyof D] &
  string

/** A ref that is not of this pattern at all. */
export class RefDoesNotMatch extends Schema.TaggedError<RefDoesNotMatch>()("RefDoesNotMatch", {
  template: Schema.String,
  ref: Schema.String
}) {
  override get message(): string {
    return `${JSON.stringify(this.ref)} is not a ref of ${this.template}`
  }
}

/** Refs named at once by a selection (`date=2026-01-01..2026-03-31`), taken one at a time. */
export interface Expansion {
  readonly size: number
  readonly refs: () => Iterable<PartitionRef>
}

export type ExpandError = RefDoesNotMatch | Dimension.OutsideDimension | InvalidPatternParams

/**
 * A pattern and its dimensions. An intersection rather than an interface extending the pattern, so a
 * job's `outputs: ReadonlyArray<PartitionPattern>` takes it as it takes any `pattern(...)`.
 */
export type Partitions<S extends string, D extends Dimensions<S>> = PartitionPattern<S> & Typed<S, D>

export interface Typed<S extends string, D extends Dimensions<S>> {
  readonly dimensions: D
  /** The params of `ref`, each checked against its dimension. */
  readonly decode: (ref: string) => Either.Either<TypedParams<S, D>, RefDoesNotMatch | Dimension.OutsideDimension>
  /** The ref of `params`, each checked against its dimension. */
  readonly encode: (
    params: TypedParams<S, D>
  ) => Either.Either<PartitionRef, InvalidPatternParams | Dimension.OutsideDimension>
  /**
   * The refs of the `n` periods of `param` ending at `params[param]` (included), oldest first, the
   * other params as given: `daily.window({ date: "2026-01-07" }, "date", 7)` is 2026-01-01 … 2026-01-07.
   */
  readonly window: (
    params: TypedParams<S, D>,
    param: DateParams<D>,
    n: number
  ) => Either.Either<ReadonlyArray<PartitionRef>, InvalidPatternParams | Dimension.OutsideDimension>
  /**
   * Every ref a selection names, as their cross product: each param's value is one value, `a..b` (a
   * range of a calendar, both ends included) or `*` (every value of a static set or of a calendar
   * with an end). An undeclared param takes `a..b` of `YYYY-MM-DD` dates as a daily range.
   */
  readonly expand: (selection: string) => Either.Either<Expansion, ExpandError>
}

/** Whether a ref names many partitions (a range or `*` in a value) rather than one. */
export const isSelection = (ref: string): boolean =>
  ref.split("/").some((segment) => /(^|=)\*$|\.\.(?!$)/.test(segment))

const undeclaredRange = (from: string) => Dimension.date({ granularity: "daily", start: from })

export const partitions = <const S extends string, const D extends Dimensions<S>>(
  template: S,
  dimensions: D
): Partitions<S, D> => {
  const base = pattern(template)
  const dims = dimensions as Record<string, Dimension.Dimension | undefined>
  const unknown = Object.keys(dims).find((name) => !(base.params as ReadonlyArray<string>).includes(name))
  if (unknown !== undefined) {
    throw new Dimension.InvalidDimension({ reason: `${template} has no parameter {${unknown}}` })
  }
  const dimensionOf = (name: string) => dims[name] ?? Dimension.string

  const checkAll = (params: Record<string, string>) => {
    for (const name of base.params as ReadonlyArray<string>) {
      const checked = Dimension.check(dimensionOf(name), name, params[name] ?? "")
      if (Either.isLeft(checked)) return Either.left(checked.left)
    }
    return Either.right(params as TypedParams<S, D>)
  }

  const decode: Partitions<S, D>["decode"] = (ref) =>
    Option.match(base.parse(ref), {
      onNone: () => Either.left(new RefDoesNotMatch({ template, ref })),
      onSome: (params) => checkAll(params as Record<string, string>)
    })

  const encode: Partitions<S, D>["encode"] = (params) =>
    Either.flatMap(checkAll(params as Record<string, string>), () => base.format(params as ParamsOf<S>))

  const valuesOf = (name: string, value: string): Either.Either<Dimension.Values, Dimension.OutsideDimension> => {
    const dimension = dimensionOf(name)
    if (value === "*") return Dimension.all(dimension, name)
    const dots = value.indexOf("..")
    if (dots > 0 && dots < value.length - 2) {
      const from = value.slice(0, dots)
      const to = value.slice(dots + 2)
      if (dimension._tag === "Date") return Dimension.range(dimension, name, from, to)
      if (dimension._tag === "String" && /^\d{4}-\d{2}-\d{2}$/.test(from)) {
        return Either.flatMap(
          Either.try({
            try: () => undeclaredRange(from),
            catch: () => new Dimension.OutsideDimension({ param: name, value: from, reason: "no such date" })
          }),
          (daily) => Dimension.range(daily, name, from, to)
        )
      }
      return Either.left(
        new Dimension.OutsideDimension({
          param: name,
          value,
          reason: "a range needs a date dimension (or YYYY-MM-DD dates on an undeclared parameter)"
        })
      )
    }
    return Either.map(Dimension.check(dimension, name, value), (one) => ({
      size: 1,
      [Symbol.iterator]: () => [one as string][Symbol.iterator]()
    }))
  }

  const expand: Partitions<S, D>["expand"] = (selection) =>
    Either.gen(function* () {
      const params = yield* Option.match(base.parse(selection), {
        onNone: () => Either.left(new RefDoesNotMatch({ template, ref: selection })),
        onSome: (found) => Either.right(found as Record<string, string>)
      })
      const names = base.params as ReadonlyArray<string>
      const axes: Array<Dimension.Values> = []
      for (const name of names) axes.push(yield* valuesOf(name, params[name]!))
      // Formatting is checked once, on the first ref: the others differ only in checked values.
      const refOf = (values: ReadonlyArray<string>) =>
        base.format(Object.fromEntries(names.map((name, i) => [name, values[i]!])) as ParamsOf<S>)
      const first = axes.map((axis) => axis[Symbol.iterator]().next().value as string)
      if (axes.every((axis) => axis.size > 0)) yield* refOf(first)
      const size = axes.reduce((product, axis) => product * axis.size, 1)
      return {
        size,
        refs: function* () {
          const current: Array<string> = []
          function* product(i: number): Generator<PartitionRef> {
            if (i === axes.length) {
              yield Either.getOrThrow(refOf(current))
              return
            }
            for (const value of axes[i]!) {
              current[i] = value
              yield* product(i + 1)
            }
          }
          yield* product(0)
        }
      }
    })

  const window: Partitions<S, D>["window"] = (given, param, n) =>
    Either.gen(function* () {
      const params = (yield* checkAll(given as Record<string, string>)) as Record<string, string>
      const dimension = dimensionOf(param) as Dimension.DateDimension
      const values = yield* Dimension.window(dimension, param, params[param]!, n)
      const refs: Array<PartitionRef> = []
      for (const value of values) refs.push(yield* base.format({ ...params, [param]: value } as ParamsOf<S>))
      return refs
    })

  return { ...base, dimensions, decode, encode, window, expand }
}

/** Whether `p` is a pattern with declared dimensions. */
export const isPartitions = (p: PartitionPattern): p is Partitions<string, Dimensions<string>> =>
  "dimensions" in p && "expand" in p
