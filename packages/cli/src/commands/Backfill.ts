/**
 * Backfills: `tessera build 'daily/date=2026-01-01..2026-03-31'` (or `'daily/date={date}' --range
 * date=a..b`) expands a selection over the dimensions of the job output it names and builds it in
 * consecutive builds of `CHUNK` partitions, so memory stays bounded however many partitions it names,
 * printing done / running / left and a rate as it goes.
 */
import { Builds, type Graph, Partitions, type PartitionRef } from "@tessera/core"
import { Clock, Console, Effect, Either, Option, Ref, Schema, Stream } from "effect"
import { BuildNotCompleted, type CommandError, SourcesMissing } from "../Errors.js"

/** Partitions per build of a backfill: one build's request, plan and catalog reads hold this many. */
export const CHUNK = 1000

/** A selection (a range, `*`, a `{param}`) that names no partitions Tessera can list. */
export class InvalidSelection extends Schema.TaggedError<InvalidSelection>()("InvalidSelection", {
  selection: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot expand ${JSON.stringify(this.selection)}: ${this.reason}`
  }
}

export interface Selection {
  readonly selection: string
  /** Whether it names many partitions (a range, `*`) rather than one ref. */
  readonly many: boolean
  readonly expansion: Partitions.Expansion
}

const one = (selection: string): Selection => ({
  selection,
  many: false,
  expansion: { size: 1, refs: () => [selection as PartitionRef.PartitionRef] }
})

/** `ref` with `--range` values put in: into its `{param}` placeholders, or over its `param=` values. */
const withRanges = (ref: string, ranges: ReadonlyMap<string, string>): string =>
  ref
    .split("/")
    .map((segment) => {
      const placeholder = /^([^=]*)=\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(segment)
      if (placeholder !== null && ranges.has(placeholder[2]!)) return `${placeholder[1]}=${ranges.get(placeholder[2]!)}`
      const eq = segment.indexOf("=")
      return eq > 0 && ranges.has(segment.slice(0, eq))
        ? `${segment.slice(0, eq + 1)}${ranges.get(segment.slice(0, eq))}`
        : segment
    })
    .join("/")

/**
 * The selections among `refs` (after `--range`), each expanded over the output pattern of the job
 * producing it.
 */
export const select = (graph: Graph.Graph, refs: ReadonlyArray<string>, ranges: ReadonlyMap<string, string>) =>
  Effect.gen(function* () {
    const given = refs.map((ref) => withRanges(ref, ranges))
    for (const ref of given) {
      const open = /\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(ref)
      if (open !== null) {
        return yield* new InvalidSelection({
          selection: ref,
          reason: `give {${open[1]}} a value with --range ${open[1]}=a..b`
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
        // One partition: still refused when it is outside its dimensions.
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

/** Every ref of the selections in chunks of `CHUNK`, each ref once: only one chunk is in memory. */
const chunks = (selections: ReadonlyArray<Selection>): Stream.Stream<ReadonlyArray<string>> =>
  Stream.fromIterable({
    *[Symbol.iterator]() {
      for (const { expansion } of selections) yield* expansion.refs()
    }
  }).pipe(
    Stream.grouped(CHUNK),
    Stream.map((chunk) => [...new Set(chunk)])
  )

const total = (selections: ReadonlyArray<Selection>) => selections.reduce((sum, s) => sum + s.expansion.size, 0)

/** What building the selections would do, counted per decision, a chunk at a time. */
export const dryRun = (
  selections: ReadonlyArray<Selection>,
  options: { readonly json: boolean }
): Effect.Effect<void, CommandError, Builds.Builds> =>
  Effect.gen(function* () {
    const builds = yield* Builds.Builds
    const decisions: Record<string, number> = {}
    let runs = 0
    let missing = 0
    const missingShown: Array<string> = []
    yield* Stream.runForEach(chunks(selections), (chunk) =>
      Effect.gen(function* () {
        const plan = yield* builds.plan(chunk)
        const requested = new Set(chunk)
        for (const p of plan.partitions)
          if (requested.has(p.ref)) decisions[p.decision] = (decisions[p.decision] ?? 0) + 1
        runs += plan.runs
        for (const source of plan.sources) {
          if (source.available) continue
          missing++
          if (missingShown.length < 10) missingShown.push(source.ref)
        }
      })
    )
    const partitions = total(selections)
    if (options.json) {
      yield* Console.log(JSON.stringify({ partitions, decisions, runs, missingSources: missing }, null, 2))
    } else {
      const counted = Object.entries(decisions).map(([decision, n]) => `${n} ${decision}`)
      yield* Console.log(
        `${partitions} partition(s): ${counted.join(", ") || "none planned"}; ${runs} job run(s) would run` +
          (missing === 0 ? "" : `; ${missing} source partition(s) missing (${missingShown.join(", ")}…)`) +
          ". Nothing was recorded or run (dry run)."
      )
    }
    if (missing > 0) return yield* new SourcesMissing({ refs: missingShown })
  })

const rate = (done: number, ms: number) => (ms <= 0 ? "0.0" : ((done * 1000) / ms).toFixed(1))

/**
 * Builds the selections in builds of `CHUNK` partitions, one after another; a failed build does not
 * stop the backfill, and the failures are the error at the end.
 */
export const run = (
  selections: ReadonlyArray<Selection>,
  request: Omit<Builds.RequestOptions, "id">,
  options: { readonly json: boolean }
): Effect.Effect<void, CommandError, Builds.Builds> =>
  Effect.gen(function* () {
    const builds = yield* Builds.Builds
    const partitions = total(selections)
    const started = yield* Clock.currentTimeMillis
    const done = yield* Ref.make(0)
    const failed: Array<string> = []
    let builtRuns = 0
    let lastBuild = ""
    const report = (running: number) =>
      Effect.gen(function* () {
        if (options.json) return
        const finished = yield* Ref.get(done)
        const elapsed = (yield* Clock.currentTimeMillis) - started
        yield* Console.log(
          `backfill: ${finished}/${partitions} done, ${running} running, ${partitions - finished - running} left, ` +
            `${rate(finished, elapsed)} partitions/s`
        )
      })
    yield* report(0)
    yield* Stream.runForEach(chunks(selections), (chunk) =>
      Effect.gen(function* () {
        const handle = yield* builds.request(chunk, { ...request, source: "cli" })
        lastBuild = handle.id
        const requested = new Set(chunk)
        const before = yield* Ref.get(done)
        // A line each time another tenth of the chunk is built, read from the build's own events.
        const step = Math.max(1, Math.ceil(chunk.length / 10))
        let settled = 0
        const live = Stream.runForEach(handle.events, ({ event }) => {
          if (event._tag !== "PartitionStatusChanged" || !requested.has(event.partitionRef)) return Effect.void
          if (event.status !== "AVAILABLE" && event.status !== "FAILED") return Effect.void
          settled++
          return settled % step === 0 && settled < chunk.length
            ? Effect.zipRight(Ref.set(done, before + settled), report(chunk.length - settled))
            : Effect.void
        })
        const [, result] = yield* Effect.all([live, handle.await], { concurrency: "unbounded" }).pipe(
          Effect.onInterrupt(() => Effect.ignore(builds.cancel(handle.id)))
        )
        builtRuns += result.built
        for (const p of result.partitions) if (p.status !== "AVAILABLE") failed.push(p.ref)
        yield* Ref.set(done, before + chunk.length)
        yield* report(0)
      })
    )
    const took = (yield* Clock.currentTimeMillis) - started
    if (options.json) {
      yield* Console.log(JSON.stringify({ partitions, built: builtRuns, failed: failed.length, ms: took }, null, 2))
    } else {
      yield* Console.log(
        `Backfilled ${partitions - failed.length}/${partitions} partition(s) with ${builtRuns} job run(s) in ` +
          `${(took / 1000).toFixed(1)} s (${rate(partitions, took)} partitions/s).`
      )
    }
    if (failed.length > 0) {
      return yield* new BuildNotCompleted({
        buildRequestId: lastBuild,
        status: "FAILED",
        reason: `${failed.length} partition(s) of the backfill did not build: ${failed.slice(0, 10).join(", ")}${failed.length > 10 ? ", …" : ""}`
      })
    }
  })
