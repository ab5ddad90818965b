/**
 * Which graph and which store a command works on. Each comes from, in order: the `--graph`/`--store`
 * flags, the `TESSERA_GRAPH`/`TESSERA_STORE` environment variables, `tessera.config.ts` in the working
 * directory, and for the store the default `sqlite:.tessera/events.db`. The environment wins over the
 * config file so one checked-in config can be pointed elsewhere per shell or per CI job.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Graph } from "@tessera/core"
import { Config, Effect, Either, Option } from "effect"
import { InvalidConfigFile, type ModuleLoadFailed, NoGraph, NotAGraph } from "../Errors.js"
import * as Retention from "../retention/Retention.js"
import * as Modules from "./Modules.js"
import * as Store from "./Store.js"

export const CONFIG_FILES = ["tessera.config.ts", "tessera.config.mts", "tessera.config.js", "tessera.config.mjs"]

export interface Flags {
  readonly graph: Option.Option<string>
  readonly store: Option.Option<string>
}

/** Where the graph comes from: a module to load, or a Graph the config file already holds. */
export type GraphSource =
  | { readonly _tag: "Module"; readonly path: string }
  | { readonly _tag: "Value"; readonly graph: Graph.Graph; readonly path: string }

export interface Settings {
  readonly graph: Option.Option<GraphSource>
  readonly store: Store.StoreSpec
  /** The config file's retention policy, when it has one and it was read (see `resolve`). */
  readonly retention: Option.Option<Retention.Policy>
}

interface ConfigFile {
  readonly path: string
  readonly graph?: GraphSource | undefined
  readonly store?: string | undefined
  readonly retention?: Retention.Policy | undefined
}

const describeValue = (value: unknown): string => {
  if (value === undefined) return "undefined (the module has no default export)"
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array (wrap the jobs in Graph.make)"
  if (typeof value === "object") return `an object with keys ${Object.keys(value).slice(0, 5).join(", ") || "none"}`
  return `a ${typeof value}`
}

const findConfigFile = (cwd: string): string | undefined =>
  CONFIG_FILES.map((name) => path.join(cwd, name)).find((file) => fs.existsSync(file))

const loadConfigFile = (file: string): Effect.Effect<ConfigFile, ModuleLoadFailed | InvalidConfigFile> =>
  Effect.gen(function* () {
    const module = yield* Modules.load(file, "config file")
    const value = module.default
    if (typeof value !== "object" || value === null) {
      return yield* new InvalidConfigFile({ path: file, reason: `its default export is ${describeValue(value)}` })
    }
    const { graph, store, retention } = value as {
      readonly graph?: unknown
      readonly store?: unknown
      readonly retention?: unknown
    }
    const base = path.dirname(file)
    let source: GraphSource | undefined
    if (typeof graph === "string") source = { _tag: "Module", path: path.resolve(base, graph) }
    else if (Graph.isGraph(graph)) source = { _tag: "Value", graph, path: file }
    else if (graph !== undefined) {
      return yield* new InvalidConfigFile({ path: file, reason: `graph is ${describeValue(graph)}` })
    }
    if (store !== undefined && typeof store !== "string") {
      return yield* new InvalidConfigFile({ path: file, reason: `store is ${describeValue(store)}, not a string` })
    }
    const policy = retention === undefined ? undefined : Retention.parse(retention, base)
    if (policy !== undefined && Either.isLeft(policy)) {
      return yield* new InvalidConfigFile({ path: file, reason: policy.left })
    }
    return { path: file, graph: source, store, retention: policy?.right }
  })

/**
 * Resolves the flags against the environment and `tessera.config.ts` in `cwd`. The retention policy
 * is read when `options.retention` asks for it (a command that runs it), or with the rest of the file.
 */
export const resolve = Effect.fn("Settings.resolve")(function* (
  flags: Flags,
  cwd: string,
  options: { readonly retention?: boolean } = {}
) {
  const env = yield* Config.all({
    graph: Config.option(Config.nonEmptyString("TESSERA_GRAPH")),
    store: Config.option(Config.nonEmptyString("TESSERA_STORE"))
  }).pipe(Effect.orDie)
  const graphFromArgs = Option.orElse(flags.graph, () => env.graph)
  const storeFromArgs = Option.orElse(flags.store, () => env.store)
  const configPath = findConfigFile(cwd)
  // The config file is code: it is only run when a flag or variable leaves something to decide.
  const file =
    configPath !== undefined &&
    (Option.isNone(graphFromArgs) || Option.isNone(storeFromArgs) || options.retention === true)
      ? yield* loadConfigFile(configPath)
      : undefined
  const graph: Option.Option<GraphSource> = Option.match(graphFromArgs, {
    onSome: (value) => Option.some({ _tag: "Module", path: path.resolve(cwd, value) }),
    onNone: () => Option.fromNullable(file?.graph)
  })
  const store = Option.isSome(storeFromArgs)
    ? yield* Store.parse(storeFromArgs.value, cwd)
    : file?.store !== undefined
      ? // A relative sqlite:/delta: path in the config file is relative to the file, like its graph path.
        yield* Store.parse(file.store, path.dirname(file.path))
      : yield* Store.parse(Store.DEFAULT_STORE, cwd)
  return { graph, store, retention: Option.fromNullable(file?.retention) } satisfies Settings
})

/** The graph `command` works on: loaded, and checked to be a Graph. */
export const loadGraph = (
  settings: Settings,
  command: string
): Effect.Effect<Graph.Graph, NoGraph | ModuleLoadFailed | NotAGraph> =>
  Effect.gen(function* () {
    if (Option.isNone(settings.graph)) return yield* new NoGraph({ command })
    const source = settings.graph.value
    if (source._tag === "Value") return source.graph
    const module = yield* Modules.load(source.path, "graph module")
    const value = module.default
    if (!Graph.isGraph(value)) return yield* new NotAGraph({ path: source.path, found: describeValue(value) })
    return value
  })
