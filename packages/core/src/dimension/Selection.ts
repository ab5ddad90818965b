/**
 * Selections: refs that name many partitions at once (`daily/date=2026-01-01..2026-03-31`, `color=*`,
 * `daily/date={date}` with a range given for `date`), expanded over the dimensions of the job output
 * that produces them. The CLI backfills them in chunks; the API and library callers expand a bounded
 * one into the refs of one build.
 */
import { Effect, Either, Option, Schema } from "effect"
import type { Graph } from "../graph/Graph.js"
import * as PartitionRefs from "../partition/PartitionRef.js"
import type { PartitionRef } from "../partition/PartitionRef.js"
import * as Partitions from "./Partitions.js"

/** A selection (a range, `*`, a `{param}`) that names no partitions Tessera can list. */
export class InvalidSelection extends Schema.TaggedError<InvalidSelection>()("InvalidSelection", {
  selection: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot expand ${JSON.stringify(this.selection)}: ${this.reason}`
  }
}

/** Selections naming more partitions than one build request may hold. */
export class TooManyPartitions extends Schema.TaggedError<TooManyPartitions>()("TooManyPartitions", {
  selections: Schema.Array(Schema.String),
  partitions: Schema.Number,
  limit: Schema.Number
}) {
  override get message(): string {
    return (
      `${this.selections.join(" ")} names ${this.partitions} partitions, more than one build holds ` +
      `(${this.limit}): split the range, or run \`tessera build\` with it, which backfills it in consecutive builds`
    )
  }
}

export interface Selection {
  readonly selection: string
  /** Whether it names many partitions (a range, `*`) rather than one ref. */
  readonly many: boolean
  readonly expansion: Partitions.Expansion
}

/** The most partitions `expandAll` puts in one build request. */
export const REQUEST_LIMIT = 10_000

const one = (selection: string): Selection => ({
  selection,
  many: false,
  expansion: { size: 1, refs: () => [selection as PartitionRef] }
})

const placeholder = /\{([A-Za-z_][A-Za-z0-9_]*)\}/

/** `ref` with range values put in: into its `{param}` placeholders, or over its `param=` values. */
const withRanges = (ref: string, ranges: ReadonlyMap<string, string>): string =>
  ranges.size === 0
    ? ref
    : ref
        .split("/")
        .map((segment) => {
          const filled = /^([^=]*)=\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(segment)
          if (filled !== null && ranges.has(filled[2]!)) return `${filled[1]}=${ranges.get(filled[2]!)}`
          const eq = segment.indexOf("=")
          return eq > 0 && ranges.has(segment.slice(0, eq))
            ? `${segment.slice(0, eq + 1)}${ranges.get(segment.slice(0, eq))}`
            : segment
        })
        .join("/")

/**
 * The selections among `refs` (after `ranges`: `date` → `2026-01-01..2026-03-31`), each expanded
 * over the output pattern of the job producing it. A plain ref stays one ref, still refused when it
 * lies outside its job's dimensions.
 */
export const select = (
  graph: Graph,
  refs: ReadonlyArray<string>,
  ranges: ReadonlyMap<string, string> = new Map()
): Effect.Effect<ReadonlyArray<Selection>, InvalidSelection | PartitionRefs.InvalidPartitionRef> =>
  Effect.gen(function* () {
    const given = refs.map((ref) => withRanges(ref, ranges))
    // A malformed ref is named with the rule it breaks before any job is looked up for it.
    for (const ref of given) if (!Partitions.isSelection(ref)) yield* PartitionRefs.make(ref)
    for (const ref of given) {
      const open = placeholder.exec(ref)
      if (open !== null) {
        return yield* new InvalidSelection({
          selection: ref,
          reason: `give {${open[1]}} a value (--range ${open[1]}=a..b on the CLI)`
        })
      }
    }
    const selections: Array<Selection> = []
    for (const selection of given) {
      const job = yield* Either.mapLeft(
        graph.lookup(selection),
        (e) => new InvalidSelection({ selection, reason: e.message })
      )
      if (Option.isNone(job)) {
        if (!Partitions.isSelection(selection)) {
          selections.push(one(selection))
          continue
        }
        return yield* new InvalidSelection({
          selection,
          reason: "no job produces it, and a range expands over a job's output pattern"
        })
      }
      const output = job.value.outputs.find((p) => p.matches(selection))!
      const typed = Partitions.isPartitions(output) ? output : Partitions.partitions(output.template, {})
      if (!Partitions.isSelection(selection)) {
        yield* Either.mapLeft(typed.decode(selection), (e) => new InvalidSelection({ selection, reason: e.message }))
        selections.push(one(selection))
        continue
      }
      const expansion = yield* Either.mapLeft(
        typed.expand(selection),
        (e) => new InvalidSelection({ selection, reason: e.message })
      )
      selections.push({ selection, many: true, expansion })
    }
    return selections
  })

/** How many refs the selections name, counting a ref named twice twice. */
export const total = (selections: ReadonlyArray<Selection>): number =>
  selections.reduce((sum, s) => sum + s.expansion.size, 0)

/** Every ref of the selections, one at a time, in order. */
export function* refsOf(selections: ReadonlyArray<Selection>): Generator<PartitionRef> {
  for (const { expansion } of selections) yield* expansion.refs()
}

/**
 * The refs of one build request naming `refs`, selections expanded: each ref once, in order, at most
 * `limit` of them.
 */
export const expandAll = (
  graph: Graph,
  refs: ReadonlyArray<string>,
  limit: number = REQUEST_LIMIT
): Effect.Effect<
  ReadonlyArray<PartitionRef>,
  InvalidSelection | PartitionRefs.InvalidPartitionRef | TooManyPartitions
> =>
  Effect.gen(function* () {
    const selections = yield* select(graph, refs)
    const partitions = total(selections)
    if (partitions > limit) return yield* new TooManyPartitions({ selections: refs, partitions, limit })
    return [...new Set(refsOf(selections))]
  })
