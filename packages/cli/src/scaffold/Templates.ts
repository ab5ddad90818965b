/**
 * The files `tessera init` writes: a pipeline project that installs Tessera from npm and builds with
 * `npx tessera build summary/date=2026-01-01` straight after `npm install`.
 */
import { VERSION } from "../Version.js"

/**
 * The versions a new project depends on. `effect` is the exact release `@tessera/core` is built on:
 * a second copy of effect beside core's would give the graph other Schema and Context instances than
 * the scheduler's. `test/e2e/installed.test.ts` checks these against the packages' own manifests.
 */
export const versions = {
  tessera: `^${VERSION}`,
  effect: "3.22.4",
  typescript: "^5.9.3",
  typesNode: "^20.19.0"
}

/**
 * Install scripts a project needs allowed (npm 11 runs only the listed ones): better-sqlite3 compiles
 * or fetches the SQLite store's native driver, esbuild (tsx's compiler) checks its platform binary.
 * The two refused ones are optional accelerators that @effect/platform-node's dependencies fall back
 * from: @parcel/watcher (file watching) and msgpackr-extract (MessagePack), neither used by Tessera.
 */
export const allowScripts = {
  "better-sqlite3": true,
  esbuild: true,
  "@parcel/watcher": false,
  "msgpackr-extract": false
}

/** A package name npm accepts, from the folder's name: lower case, the odd characters as `-`. */
export const packageName = (folder: string): string => {
  const name = folder
    .toLowerCase()
    .replace(/[^a-z0-9._~-]+/g, "-")
    .replace(/^[-._]+|-+$/g, "")
  return name === "" ? "pipeline" : name.slice(0, 214)
}

const packageJson = (name: string) =>
  `${JSON.stringify(
    {
      name,
      version: "0.1.0",
      private: true,
      type: "module",
      scripts: {
        build: "tessera build summary/date=2026-01-01",
        status: "tessera status",
        typecheck: "tsc"
      },
      dependencies: {
        "@tessera/cli": versions.tessera,
        "@tessera/core": versions.tessera,
        effect: versions.effect
      },
      devDependencies: {
        "@types/node": versions.typesNode,
        typescript: versions.typescript
      },
      allowScripts
    },
    null,
    2
  )}\n`

const config = `// Read by every \`tessera\` command run in this folder; --graph / --store and TESSERA_GRAPH /
// TESSERA_STORE win over it. Paths are relative to this file.
export default {
  graph: "./graph.ts",
  store: "sqlite:.tessera/events.db"
}
`

const graph = `/**
 * The pipeline: two jobs.
 *
 *   numbers/date=D   a day's numbers              out/numbers/D.json
 *   summary/date=D   their count and total        out/summary/D.json
 *
 * \`npx tessera build summary/date=2026-01-01\` runs numbers, then summary; run it again and nothing
 * is built, because both partitions are AVAILABLE and fresh. Change a job's \`version\` to rebuild it.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Graph, Job, pattern } from "@tessera/core"
import { Effect, Option } from "effect"

const numbersOf = pattern("numbers/date={date}")
const summaryOf = pattern("summary/date={date}")

/** Writes \`value\` as JSON to out/<folder>/<date>.json and returns the file's path. */
const writeJson = (folder: string, date: string, value: unknown): string => {
  const file = path.join("out", folder, \`\${date}.json\`)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, \`\${JSON.stringify(value)}\\n\`)
  return file
}

// Reads nothing: in a real pipeline this job would fetch or export the day's data. Data that arrives
// from outside is a source partition instead: \`npx tessera register raw/date=D --path file\`.
const numbers = Job.make({
  name: "numbers",
  version: "1",
  outputs: [numbersOf],
  config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [] })),
  run: (ctx) =>
    Effect.sync(() => {
      const { date } = Option.getOrThrow(numbersOf.parse(ctx.outputs[0]!))
      const day = Number(date.slice(8, 10))
      const values = Array.from({ length: 10 }, (_, i) => (i + 1) * day)
      return { path: writeJson("numbers", date, values), count: values.length }
    })
})

// One summary per day, from that day's numbers: \`config\` names the input, Tessera builds it first.
const summary = Job.make({
  name: "summary",
  version: "1",
  outputs: [summaryOf],
  config: (refs) =>
    refs.map((ref) => {
      const { date } = Option.getOrThrow(summaryOf.parse(ref))
      return { outputs: [ref], inputs: [numbersOf.unsafeFormat({ date })] }
    }),
  run: (ctx) =>
    Effect.sync(() => {
      const { date } = Option.getOrThrow(summaryOf.parse(ctx.outputs[0]!))
      const input = String(ctx.inputManifests.get(ctx.inputs[0]!)?.path)
      const values: Array<number> = JSON.parse(fs.readFileSync(input, "utf8"))
      const total = values.reduce((sum, value) => sum + value, 0)
      return { path: writeJson("summary", date, { count: values.length, total }), total }
    })
})

export default Graph.make([numbers, summary])
`

const tsconfig = `${JSON.stringify(
  {
    compilerOptions: {
      target: "ES2022",
      lib: ["ES2022"],
      module: "NodeNext",
      moduleResolution: "NodeNext",
      types: ["node"],
      strict: true,
      noEmit: true,
      skipLibCheck: true
    },
    include: ["*.ts"]
  },
  null,
  2
)}\n`

const readme = (name: string) => `# ${name}

A data pipeline on [Tessera](https://www.npmjs.com/package/@tessera/core): jobs in \`graph.ts\`
produce partitions such as \`summary/date=2026-01-01\`; every build is recorded in the event log
\`.tessera/events.db\` (SQLite), so a partition that is built and fresh is never built again.

\`\`\`sh
npm install
npx tessera build summary/date=2026-01-01 --dry-run   # what would run, and why
npx tessera build summary/date=2026-01-01             # numbers/date=2026-01-01, then summary
npx tessera build summary/date=2026-01-01             # nothing to build
npx tessera status                                    # every partition and its state
npx tessera graph                                     # the jobs and what they read
npm run typecheck
\`\`\`

- \`graph.ts\` holds the jobs; \`tessera.config.ts\` names the graph and the store
  (\`postgres://user:password@host:5432/db\` to share one log between machines).
- Data that arrives from outside is a *source* partition: \`npx tessera register raw/date=2026-01-01
  --path data/2026-01-01.csv\` records it (with its SHA-256), and jobs list it as an input.
- \`npx tessera --help\` lists every command.
`

const gitignore = `node_modules/
# Tessera's event log (the SQLite store) and what the jobs write.
.tessera/
out/
`

/** The files of a new project, by path relative to its folder. */
export const files = (name: string): ReadonlyArray<readonly [string, string]> => [
  ["package.json", packageJson(name)],
  ["tessera.config.ts", config],
  ["graph.ts", graph],
  ["tsconfig.json", tsconfig],
  ["README.md", readme(name)],
  [".gitignore", gitignore]
]
