/**
 * Tessera in a user's own project: every package packed with `npm pack`, the tarballs installed with
 * npm into a new project in a temp folder outside the repository (no workspace, no links), a graph
 * written there, typechecked with `skipLibCheck: false`, and run through the installed `tessera`;
 * then `tessera init` scaffolds a second project that installs and builds.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Scaffold } from "@tessera/cli"
import * as Packages from "../src/packages.js"

// Packing, installing and typechecking take most of a minute each on two busy cores.
const slow = 600_000

const graph = `import * as fs from "node:fs"
import { Graph, Job, pattern } from "@tessera/core"
import { Effect, Option } from "effect"

const words = pattern("words/date={date}")
const report = pattern("report/date={date}")

const count = Job.make({
  name: "count",
  outputs: [words],
  config: (refs) =>
    refs.map((ref) => ({ outputs: [ref], inputs: [\`text/date=\${Option.getOrThrow(words.parse(ref)).date}\`] })),
  run: (ctx) =>
    Effect.sync(() => {
      const file = String(ctx.inputManifests.get(ctx.inputs[0]!)?.path)
      return { words: fs.readFileSync(file, "utf8").split(/\\s+/).filter(Boolean).length }
    })
})

const write = Job.make({
  name: "report",
  outputs: [report],
  config: (refs) =>
    refs.map((ref) => ({ outputs: [ref], inputs: [words.unsafeFormat(Option.getOrThrow(report.parse(ref)))] })),
  run: (ctx) => Effect.succeed({ words: Number(ctx.inputManifests.get(ctx.inputs[0]!)?.words) })
})

export default Graph.make([count, write])
`

// Every package's entry point, as a program embedding Tessera would use it.
const library = `import { Cli, Store } from "@tessera/cli"
import { Builds, Graph, InMemoryEventLog } from "@tessera/core"
import { DeltaEventLog } from "@tessera/store-delta"
import { Client } from "@tessera/server"
import { PgStore } from "@tessera/store-postgres"
import { SqliteEventLog } from "@tessera/store-sqlite"
import { Effect, Layer } from "effect"

export const layers = [SqliteEventLog.layer({ filename: "x.db" }), DeltaEventLog.layer({ path: "x" }), PgStore.layer({ url: "postgres://x" })]
export const parsed = Store.parse("sqlite:x.db", ".")
export const program = Effect.provide(Builds.Builds, Layer.provideMerge(Builds.layer(Graph.make([])), InMemoryEventLog.layer))
export const run = Cli.run
export const client = Client.make("http://127.0.0.1:4000")
`

/**
 * A consumer's strictest settings. A graph needs only ES2022; a program using the stores or the CLI as
 * a library also needs the DOM lib, because @effect/platform's declarations name Web types (Storage,
 * MessagePort, Transferable) that @types/node does not declare.
 */
const tsconfig = (include: string, lib: ReadonlyArray<string>) => ({
  compilerOptions: {
    target: "ES2022",
    lib,
    module: "NodeNext",
    moduleResolution: "NodeNext",
    types: ["node"],
    strict: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    skipLibCheck: false
  },
  include: [include]
})

const writeJson = (file: string, value: unknown) => fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)

describe("the packages installed from their tarballs", () => {
  let base = ""
  let packed: ReadonlyArray<Packages.Packed> = []
  let project = ""
  let env: Record<string, string> = {}
  let install: Packages.Ran = { stdout: "", stderr: "" }
  const tools = () => [
    `typescript@${Packages.workspaceVersion("typescript")}`,
    `@types/node@${Packages.workspaceVersion("@types/node")}`
  ]
  const tessera = (cwd: string, args: ReadonlyArray<string>) =>
    Packages.run(path.join(cwd, "node_modules", ".bin", "tessera"), args, { cwd, env })

  beforeAll(async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), "tessera-installed-"))
    const tarballs = path.join(base, "tarballs")
    fs.mkdirSync(tarballs)
    packed = await Packages.packAll(tarballs)
    env = await Packages.localPrebuilds(path.join(base, "prebuilds"))
    project = path.join(base, "project")
    fs.mkdirSync(project)
    writeJson(path.join(project, "package.json"), {
      name: "project",
      private: true,
      type: "module",
      allowScripts: Scaffold.Templates.allowScripts
    })
    install = await Packages.npmInstall(project, [...packed.map((p) => p.tarball), ...tools()], env)
  }, slow)

  afterAll(() => {
    if (base !== "") fs.rmSync(base, { recursive: true, force: true })
  })

  it("each tarball holds its manifest, README, compiled modules with their types, and sources", () => {
    expect(packed.map((p) => p.name).sort()).toEqual(
      Packages.publishedPackages()
        .map(({ manifest }) => manifest.name)
        .sort()
    )
    for (const { name, files } of packed) {
      const unexpected = files.filter(
        (file) =>
          !/^(package\.json|README\.md|bin\/tessera\.js|(dist|src)\/.+\.(js|d\.ts|ts|js\.map|d\.ts\.map))$/.test(file)
      )
      expect({ name, unexpected }).toEqual({ name, unexpected: [] })
      expect(files.some((file) => file.endsWith(".tsbuildinfo"))).toBe(false)
      expect(files).toContain("dist/index.js")
      expect(files).toContain("dist/index.d.ts")
    }
  })

  it("installs with no install script left out of the documented allowScripts", () => {
    expect(install.stderr).not.toContain("allowScripts")
    expect(fs.lstatSync(path.join(project, "node_modules", "@tessera", "core")).isSymbolicLink()).toBe(false)
    expect(
      fs.existsSync(path.join(project, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node"))
    ).toBe(true)
  })

  it(
    "a graph and every package's API typecheck with skipLibCheck: false",
    async () => {
      fs.writeFileSync(path.join(project, "graph.ts"), graph)
      fs.writeFileSync(path.join(project, "library.ts"), library)
      writeJson(path.join(project, "tsconfig.graph.json"), tsconfig("graph.ts", ["ES2022"]))
      writeJson(path.join(project, "tsconfig.library.json"), tsconfig("library.ts", ["ES2022", "DOM"]))
      const tsc = path.join(project, "node_modules", "typescript", "bin", "tsc")
      for (const config of ["tsconfig.graph.json", "tsconfig.library.json"]) {
        await Packages.run(process.execPath, [tsc, "-p", config], { cwd: project, timeoutMs: slow })
      }
    },
    slow
  )

  it(
    "register, build and status run through the installed tessera",
    async () => {
      fs.writeFileSync(path.join(project, "graph.ts"), graph)
      fs.writeFileSync(path.join(project, "day.txt"), "the quick brown fox\n")
      const registered = await tessera(project, ["register", "text/date=2026-11-01", "--path", "day.txt", "--json"])
      expect(JSON.parse(registered.stdout)).toMatchObject({ ref: "text/date=2026-11-01", registered: true })
      await tessera(project, ["--graph", "graph.ts", "build", "report/date=2026-11-01"])
      const status = JSON.parse((await tessera(project, ["status", "report/date=2026-11-01", "--json"])).stdout)
      expect(status.partitions).toMatchObject([
        { ref: "report/date=2026-11-01", status: "AVAILABLE", manifest: { words: 4 } }
      ])
      expect(fs.existsSync(path.join(project, ".tessera", "events.db"))).toBe(true)
    },
    slow
  )

  it(
    "tessera init scaffolds a project that installs, typechecks and builds",
    async () => {
      const scaffold = path.join(base, "my-pipeline")
      await tessera(project, ["init", scaffold])
      expect(fs.readdirSync(scaffold).sort()).toEqual(
        [".gitignore", "README.md", "graph.ts", "package.json", "tessera.config.ts", "tsconfig.json"].sort()
      )
      const manifest = JSON.parse(fs.readFileSync(path.join(scaffold, "package.json"), "utf8"))
      expect(manifest).toMatchObject({
        name: "my-pipeline",
        type: "module",
        dependencies: {
          effect: Packages.workspaceVersion("effect"),
          "@tessera/core": Scaffold.Templates.versions.tessera
        }
      })
      expect(fs.readFileSync(path.join(scaffold, ".gitignore"), "utf8")).toContain(".tessera/")
      // The @tessera packages are not on the registry yet: the tarballs stand in for them.
      await Packages.npmInstall(
        scaffold,
        packed.map((p) => p.tarball),
        env
      )
      await Packages.run("npm", ["run", "typecheck"], { cwd: scaffold, timeoutMs: slow })
      const built = await tessera(scaffold, ["build", "summary/date=2026-01-03"])
      expect(built.stdout).toContain("Built 1 requested partition(s) with 2 job run(s)")
      const again = await tessera(scaffold, ["build", "summary/date=2026-01-03"])
      expect(again.stdout).toContain("Nothing to build")
      expect(JSON.parse(fs.readFileSync(path.join(scaffold, "out", "summary", "2026-01-03.json"), "utf8"))).toEqual({
        count: 10,
        total: 165
      })
    },
    slow
  )
})
