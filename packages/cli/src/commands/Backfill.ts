/**
 * Backfills: `tessera build 'daily/date=2026-01-01..2026-03-31'` (or `'daily/date={date}' --range
 * date=a..b`) expands a selection over the dimensions of the job output it names and builds it in
 * consecutive builds of `CHUNK` partitions, so memory stays bounded however many partitions it names,
 * printing done / running / left and a rate as it goes.
 */
import { Builds, Selection } from "@tessera/core"
import { Clock, Console, Effect, Ref, Stream } from "effect"
import { BuildNotCompleted, type CommandError, SourcesMissing } from "../Errors.js"

/** Partitions per build of a backfill: one build's request, plan and catalog reads hold this many. */
export const CHUNK = 1000

/** Every ref of the selections in chunks of `CHUNK`, each ref once: only one chunk is in memory. */
const chunks = (selections: ReadonlyArray<Selection.Selection>): Stream.Stream<ReadonlyArray<string>> =>
  Stream.fromIterable({ [Symbol.iterator]: () => Selection.refsOf(selections) }).pipe(
    Stream.grouped(CHUNK),
    Stream.map((chunk) => [...new Set(chunk)])
  )

/** What building the selections would do, counted per decision, a chunk at a time. */
export const dryRun = (
  selections: ReadonlyArray<Selection.Selection>,
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
    const partitions = Selection.total(selections)
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
  selections: ReadonlyArray<Selection.Selection>,
  request: Omit<Builds.RequestOptions, "id">,
  options: { readonly json: boolean }
): Effect.Effect<void, CommandError, Builds.Builds> =>
  Effect.gen(function* () {
    const builds = yield* Builds.Builds
    const partitions = Selection.total(selections)
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
