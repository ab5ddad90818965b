import { Args, Command, Options } from "@effect/cli"
import { Builds, type DryRun, Selection } from "@tessera/core"
import { Console, Effect, HashMap, Option, Schema } from "effect"
import { SourcesMissing } from "../Errors.js"
import { table } from "../render/Table.js"
import * as Backfill from "./Backfill.js"
import * as Positional from "./Positional.js"
import { shared, withBuilds } from "./Root.js"

export const positive = (flag: string) =>
  Schema.Number.pipe(Schema.int(), Schema.positive({ message: () => `--${flag} must be a whole number above 0` }))
const nonNegative = (flag: string) =>
  Schema.Number.pipe(Schema.int(), Schema.nonNegative({ message: () => `--${flag} must be a whole number, 0 or more` }))

/** Flags `build` and `resume` share: how the job runs of this process execute. */
export const executionOptions = {
  concurrency: Options.integer("concurrency").pipe(
    Options.withSchema(positive("concurrency")),
    Options.withDescription("Job runs executing at once in this process (default 4)"),
    Options.optional
  ),
  lease: Options.integer("lease").pipe(
    Options.withSchema(positive("lease")),
    Options.withDescription(
      "Lease in ms a job run holds on its partitions; heartbeats renew it every third. When this process " +
        "dies, another build or `tessera resume` takes over after it runs out (default 30000)"
    ),
    Options.optional
  )
}

/**
 * The Follow module, imported only by the commands that follow a build: its progress views load the
 * whole of @effect/platform, which every other command line (`--help`, `status`) would wait for.
 */
export const loadFollow = Effect.promise(() => import("./Follow.js"))

/** The options of the builds a command line asks for, from its flags. */
const requestOptions = (options: {
  readonly concurrency: Option.Option<number>
  readonly lease: Option.Option<number>
  readonly executor: Option.Option<"local" | "workers">
  readonly retries: Option.Option<number>
  readonly retryDelay: Option.Option<number>
}): Omit<Builds.RequestOptions, "id"> => {
  const retries = Option.getOrUndefined(options.retries)
  const retryDelay = Option.getOrUndefined(options.retryDelay)
  return {
    concurrency: Option.getOrUndefined(options.concurrency),
    leaseMs: Option.getOrUndefined(options.lease),
    executor: Option.getOrUndefined(options.executor),
    retry:
      retries === undefined && retryDelay === undefined
        ? undefined
        : { attempts: (retries ?? 0) + 1, ...(retryDelay === undefined ? {} : { initialDelayMs: retryDelay }) }
  }
}

const dryRunReport = (plan: DryRun.DryRun) => [
  ...table(
    ["PARTITION", "JOB", "DECISION", "WHY"],
    plan.partitions.map((p) => [p.ref, p.job, p.decision, p.reason])
  ),
  ...(plan.sources.length === 0
    ? []
    : [
        "",
        ...table(
          ["SOURCE", "STATUS"],
          plan.sources.map((s) => [s.ref, s.available ? "AVAILABLE" : "MISSING (register it first)"])
        )
      ]),
  "",
  `${plan.runs} job run(s) would run; nothing was recorded or run (dry run).`
]

export const build = Command.make(
  "build",
  {
    refs: Positional.ref().pipe(
      Args.withDescription(
        "Partitions to build, e.g. sales/date=2026-11-01; a value a..b is a range and * every value of a " +
          "dimension (a backfill), e.g. sales/date=2026-01-01..2026-03-31"
      ),
      Args.atLeast(1)
    ),
    dryRun: Options.boolean("dry-run").pipe(
      Options.withDescription(
        "Analyse only: print, per partition, whether it would be built, reused, delegated or rebuilt as stale, " +
          "and why; record and run nothing"
      )
    ),
    id: Options.text("id").pipe(
      Options.withDescription(
        "The build's id. Requesting an id that exists follows that build instead of starting another (idempotent)"
      ),
      Options.optional
    ),
    retries: Options.integer("retries").pipe(
      Options.withSchema(nonNegative("retries")),
      Options.withDescription("Retries of a failed job run, with exponential backoff and jitter (default 0)"),
      Options.optional
    ),
    retryDelay: Options.integer("retry-delay").pipe(
      Options.withSchema(nonNegative("retry-delay")),
      Options.withDescription("Delay in ms before the first retry; it doubles for each next one (default 1000)"),
      Options.optional
    ),
    executor: Options.choice("executor", ["local", "workers"]).pipe(
      Options.withDescription(
        "Where the job runs execute: in this process (local, the default), or in `tessera worker` processes " +
          "sharing the PostgreSQL store (workers); this process then follows the build to its end"
      ),
      Options.optional
    ),
    range: Options.keyValueMap("range").pipe(
      Options.withDescription(
        "A parameter's values for the refs: --range date=2026-01-01..2026-03-31 fills {date} (or replaces " +
          "date=...) in each ref; a backfill of the cross product, in builds of 1000 partitions"
      ),
      Options.optional
    ),
    ...executionOptions,
    ...shared
  },
  (options) =>
    withBuilds("build", options, { needsGraph: true }, (_, graph) =>
      Effect.gen(function* () {
        const builds = yield* Builds.Builds
        const ranges = new Map(Option.match(options.range, { onNone: () => [], onSome: HashMap.toEntries }))
        const selections = yield* Selection.select(graph, options.refs, ranges)
        if (selections.some((selection) => selection.many)) {
          if (options.dryRun) return yield* Backfill.dryRun(selections, options)
          if (Option.isSome(options.id)) {
            return yield* new Selection.InvalidSelection({
              selection: options.refs.join(" "),
              reason: `--id names one build, and a backfill is a build per ${Backfill.CHUNK} partitions`
            })
          }
          return yield* Backfill.run(selections, requestOptions(options), options)
        }
        const refs = selections.map((selection) => selection.selection)
        if (options.dryRun) {
          const plan = yield* builds.plan(refs)
          yield* Console.log(options.json ? JSON.stringify(plan, null, 2) : dryRunReport(plan).join("\n"))
          const missing = plan.sources.filter((source) => !source.available).map((source) => source.ref)
          if (missing.length > 0) return yield* new SourcesMissing({ refs: missing })
          return
        }
        const { follow } = yield* loadFollow
        const executor = Option.getOrUndefined(options.executor)
        const handle = yield* builds.request(refs, {
          ...requestOptions(options),
          id: Option.getOrUndefined(options.id),
          source: "cli"
        })
        if (executor === "workers" && !options.json) {
          yield* Console.log(
            `Build ${handle.id} is queued for workers: \`tessera worker\` processes on this store run its jobs.`
          )
        }
        yield* follow(handle, options)
      })
    )
).pipe(Command.withDescription("Build partitions and everything they need, reusing what is up to date"))
