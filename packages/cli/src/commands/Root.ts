/**
 * The `tessera` command itself: the options every subcommand shares, and how a subcommand gets its
 * store and graph from them.
 */
import { Command, Options } from "@effect/cli"
import { Builds, type EventLog, Graph } from "@tessera/core"
import type { CommandError } from "../Errors.js"
import { Effect, Layer, Option } from "effect"
import * as Settings from "../config/Settings.js"
import * as Store from "../config/Store.js"

const graph = Options.text("graph").pipe(
  Options.withAlias("g"),
  Options.withDescription(
    "The graph module: a .ts or .js file whose default export is a Graph. " +
      "Falls back to TESSERA_GRAPH, then to `graph` in tessera.config.ts"
  ),
  Options.optional
)
const store = Options.text("store").pipe(
  Options.withAlias("s"),
  Options.withDescription(
    "Where the event log lives: sqlite:PATH, postgres://user:password@host/db[?schema=name] or delta:PATH. " +
      `Falls back to TESSERA_STORE, then to \`store\` in tessera.config.ts, then to ${Store.DEFAULT_STORE}`
  ),
  Options.optional
)

export const json = Options.boolean("json").pipe(
  Options.withDescription("Print one JSON document (JSON lines for a stream) instead of text")
)

/**
 * Options every subcommand takes. `--graph` and `--store` are accepted before the subcommand (where
 * @effect/cli parses the parent's options) and after it (so `tessera build --help` lists them).
 */
export const shared = { graph, store, json }

export const tessera = Command.make("tessera", { graph, store }).pipe(
  Command.withDescription("Build and inspect partitioned data pipelines")
)

/** Widens a command's errors to `CommandError`: what `ExitCode` reports, and a type other packages can name. */
export const asCommandError = <A, E extends CommandError, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, CommandError, R> => self

/** This invocation's settings, from the subcommand's flags, the parent's, the environment and tessera.config.ts. */
export const settings = (flags: Settings.Flags, options: { readonly retention?: boolean } = {}) =>
  Effect.gen(function* () {
    const parent = yield* tessera
    const cwd = yield* Effect.sync(() => process.cwd())
    return yield* Settings.resolve(
      {
        graph: Option.orElse(flags.graph, () => parent.graph),
        store: Option.orElse(flags.store, () => parent.store)
      },
      cwd,
      options
    )
  })

/** Runs `body` with the event log of the configured store open. */
export const withLog = <A, E extends CommandError, R>(
  flags: Settings.Flags,
  body: (settings: Settings.Settings) => Effect.Effect<A, E, R>
): Effect.Effect<A, CommandError, Exclude<R, EventLog.EventLog> | Command.Command.Context<"tessera">> =>
  asCommandError(
    Effect.flatMap(settings(flags), (resolved) => Effect.provide(body(resolved), Store.layer(resolved.store)))
  )

/**
 * Runs `body` with `Builds` on the configured store. Commands that run jobs load the graph; the others
 * (cancel, invalidate, register) work on the log alone, so they need no graph module.
 */
export const withBuilds = <A, E extends CommandError, R>(
  command: string,
  flags: Settings.Flags,
  options: { readonly needsGraph: boolean },
  body: (settings: Settings.Settings, graph: Graph.Graph) => Effect.Effect<A, E, R>
): Effect.Effect<A, CommandError, Exclude<R, Builds.Builds | EventLog.EventLog> | Command.Command.Context<"tessera">> =>
  asCommandError(
    Effect.flatMap(settings(flags), (resolved) =>
      Effect.gen(function* () {
        const graph = options.needsGraph ? yield* Settings.loadGraph(resolved, command) : Graph.make([])
        return yield* body(resolved, graph).pipe(
          Effect.provide(Layer.provideMerge(Builds.layer(graph), Store.layer(resolved.store)))
        )
      })
    )
  )
