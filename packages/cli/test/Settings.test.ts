import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Settings, Store } from "@tessera/cli"
import { ConfigProvider, Effect, Either, Option } from "effect"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-settings-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const none = { graph: Option.none(), store: Option.none() }

describe("store values", () => {
  it("parses each kind of store, resolving paths against the base folder", () => {
    expect(Store.parse("sqlite:logs/events.db", "/work")).toEqual(
      Either.right({ _tag: "Sqlite", filename: "/work/logs/events.db" })
    )
    expect(Store.parse("delta:/data/log", "/work")).toEqual(Either.right({ _tag: "Delta", path: "/data/log" }))
    expect(Store.parse("postgres://u:secret@db:5432/app?schema=pipes", "/work")).toEqual(
      Either.right({
        _tag: "Postgres",
        url: "postgres://u:secret@db:5432/app",
        schema: "pipes",
        connectTimeoutMs: undefined,
        operationTimeoutMs: undefined
      })
    )
    const bad = Store.parse("events.db", "/work")
    expect(Either.isLeft(bad) && bad.left.message).toContain("sqlite:PATH")
  })

  it("takes Tessera's own PostgreSQL parameters out of the URL, once each", () => {
    const timeouts = Store.parse("postgres://db/app?connect_timeout=3&operation_timeout=0.5&sslmode=disable", "/")
    expect(timeouts).toEqual(
      Either.right({
        _tag: "Postgres",
        url: "postgres://db/app?sslmode=disable",
        schema: undefined,
        connectTimeoutMs: 3000,
        operationTimeoutMs: 500
      })
    )
    for (const [value, reason] of [
      ["postgres://db/app?schema=aa&schema=bb", "?schema= is given 2 times"],
      ["postgres://db/app?connect_timeout=soon", "?connect_timeout= must be a number of seconds"],
      ["postgres://db/app?operation_timeout=0", "?operation_timeout= must be a number of seconds"]
    ] as const) {
      const refused = Store.parse(value, "/")
      expect(Either.isLeft(refused) && refused.left.message).toContain(reason)
    }
  })
})

describe("settings", () => {
  it.scoped("defaults to sqlite:.tessera/events.db in the working directory, with no graph", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const settings = yield* Settings.resolve(none, dir)
      expect(settings.store).toEqual({ _tag: "Sqlite", filename: path.join(dir, ".tessera", "events.db") })
      expect(Option.isNone(settings.graph)).toBe(true)
    })
  )

  it.scoped("reads tessera.config.mjs relative to itself; the environment wins over it; flags win over both", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      fs.writeFileSync(
        path.join(dir, "tessera.config.mjs"),
        'export default { graph: "./pipeline/graph.ts", store: "sqlite:logs/events.db" }\n'
      )
      const fromFile = yield* Settings.resolve(none, dir)
      expect(fromFile.graph).toEqual(Option.some({ _tag: "Module", path: path.join(dir, "pipeline", "graph.ts") }))
      expect(fromFile.store).toEqual({ _tag: "Sqlite", filename: path.join(dir, "logs", "events.db") })

      const fromEnv = yield* Settings.resolve(none, dir).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["TESSERA_STORE", "delta:table"]])))
      )
      expect(fromEnv.store).toEqual({ _tag: "Delta", path: path.join(dir, "table") })

      const fromFlags = yield* Settings.resolve({ graph: Option.some("g.ts"), store: Option.some("sqlite:x.db") }, dir)
      expect(fromFlags.graph).toEqual(Option.some({ _tag: "Module", path: path.join(dir, "g.ts") }))
      expect(fromFlags.store).toEqual({ _tag: "Sqlite", filename: path.join(dir, "x.db") })
    })
  )

  it.scoped("reads the retention policy when asked, even with every flag given; a bad one is InvalidConfigFile", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      fs.writeFileSync(
        path.join(dir, "tessera.config.mjs"),
        'export default { retention: { before: "7d", archive: "delta:archive" } }\n'
      )
      const flags = { graph: Option.some("g.ts"), store: Option.some("sqlite:x.db") }
      expect((yield* Settings.resolve(flags, dir)).retention).toEqual(Option.none())
      const policy = Option.getOrThrow((yield* Settings.resolve(flags, dir, { retention: true })).retention)
      expect(policy).toMatchObject({ before: "7d", bound: { _tag: "Age" }, archive: path.join(dir, "archive") })
      // Another folder: a config module once imported stays in Node's module cache.
      const other = yield* tempDir
      fs.writeFileSync(
        path.join(other, "tessera.config.mjs"),
        'export default { retention: { before: "7d", every: "often" } }\n'
      )
      const refused = yield* Effect.flip(Settings.resolve(flags, other, { retention: true }))
      expect(refused._tag).toBe("InvalidConfigFile")
      expect(refused.message).toContain('retention.every: "often" is not a bound')
    })
  )

  it.scoped("refuses a module whose default export is not a Graph, saying what it found", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      fs.writeFileSync(path.join(dir, "graph.mjs"), "export default [1, 2]\n")
      const settings = yield* Settings.resolve({ graph: Option.some("graph.mjs"), store: Option.none() }, dir)
      const error = yield* Effect.flip(Settings.loadGraph(settings, "build"))
      expect(error._tag).toBe("NotAGraph")
      expect(error.message).toContain("an array (wrap the jobs in Graph.make)")
      const missing = yield* Effect.flip(Settings.loadGraph({ ...settings, graph: Option.none() }, "build"))
      expect(missing.message).toContain("needs a graph")
    })
  )
})
