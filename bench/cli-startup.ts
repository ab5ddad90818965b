/**
 * `tessera` startup: the wall time of whole processes, `--version`, `--help`, `status` on a SQLite
 * log and `graph` of the TypeScript sales example (tsx loaded), each beside `node -e 0`, a Node that
 * loads nothing, run alternately in the same loop so both see the same machine.
 *
 * `npm run bench -- cli-startup [runs=15]`
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { type Benchmark, percentile, report } from "./src/report.js"

const bin = fileURLToPath(new URL("../packages/cli/bin/tessera.js", import.meta.url))
const salesGraph = fileURLToPath(new URL("../examples/sales/src/graph.ts", import.meta.url))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-bench-cli-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Runs `node ...args` in `cwd` to its end and returns its wall time in ms; a failed run ends the bench. */
const run = (args: ReadonlyArray<string>, cwd: string) =>
  Effect.suspend(() => {
    const start = performance.now()
    const result = spawnSync(process.execPath, args, { cwd, stdio: ["ignore", "ignore", "pipe"] })
    const ms = performance.now() - start
    return result.status === 0
      ? Effect.succeed(ms)
      : Effect.dieMessage(`node ${args.join(" ")} exited ${result.status}: ${result.stderr.toString()}`)
  })

const bench: Benchmark = (args) =>
  Effect.scoped(
    Effect.gen(function* () {
      const runs = Number(args[0] ?? 15)
      const dir = yield* tempDir
      const store = `sqlite:${path.join(dir, "events.db")}`
      const cases = [
        { id: "cli.version", name: "tessera --version", args: [bin, "--version"] },
        { id: "cli.help", name: "tessera --help", args: [bin, "--help"] },
        { id: "cli.status.sqlite", name: "tessera status, SQLite store", args: [bin, "--store", store, "status"] },
        {
          id: "cli.graph.ts",
          name: "tessera graph, TypeScript graph (tsx)",
          args: [bin, "--graph", salesGraph, "--store", store, "graph"]
        }
      ]
      process.stdout.write(`cli-startup bench: ${runs} runs of each command, median wall time, in ${dir}\n`)
      // One run of each first: the SQLite log is created, and the files are in the page cache.
      for (const c of cases) yield* run(c.args, dir)
      const baseline: Array<number> = []
      const samples = cases.map((): Array<number> => [])
      for (let i = 0; i < runs; i++) {
        baseline.push(yield* run(["-e", "0"], dir))
        for (const [n, c] of cases.entries()) samples[n]!.push(yield* run(c.args, dir))
      }
      const raw = { name: "node -e 0", value: percentile(baseline, 50) }
      yield* report(
        "cli-startup",
        cases.map((c, n) => ({
          id: c.id,
          case: c.name,
          unit: "ms",
          value: percentile(samples[n]!, 50),
          baseline: raw,
          higherIsBetter: false
        }))
      )
    })
  )

export default bench
