/**
 * Backfills by range from the CLI, as users run them: `tessera build 'hourly/hour=a..b'` on a SQLite
 * log, a no-op job per hour, in builds of 1,000. What it measures is that memory stays bounded
 * however many partitions a range names: the peak RSS of a backfill of `large` partitions against
 * one of `small` (the ratio is ~1 when it is bounded), the same for a dry run of 100k, and the rate.
 *
 * `npm run bench -- backfill [small=2000] [large=20000] [dryRun=100000]`
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { type Benchmark, report } from "./src/report.js"

const bin = fileURLToPath(new URL("../packages/cli/bin/tessera.js", import.meta.url))
const graph = fileURLToPath(new URL("./src/backfill-graph.ts", import.meta.url))
const preload = new URL("./src/peak-rss.mjs", import.meta.url).href

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-bench-backfill-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** The range of `n` hours from 2000-01-01T00. */
const hours = (n: number) => {
  const end = new Date(Date.UTC(2000, 0, 1) + (n - 1) * 3_600_000).toISOString().slice(0, 13)
  return `hourly/hour=2000-01-01T00..${end}`
}

/** Runs `tessera ...args` on a fresh log in `dir`: its wall time and peak RSS. */
const measure = (dir: string, args: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    const peak = path.join(dir, "peak-rss")
    const log = path.join(dir, `events-${Date.now()}.db`)
    const start = performance.now()
    const result = spawnSync(
      process.execPath,
      ["--import", preload, bin, "--graph", graph, "--store", `sqlite:${log}`, ...args, "--json"],
      { cwd: dir, env: { ...process.env, PEAK_RSS_FILE: peak }, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 28 }
    )
    const ms = performance.now() - start
    if (result.status !== 0) {
      return Effect.dieMessage(`tessera ${args.join(" ")} exited ${result.status}: ${result.stderr.toString()}`)
    }
    return Effect.succeed({ ms, rss: Number(fs.readFileSync(peak, "utf8")) / 2 ** 20 })
  })

const bench: Benchmark = (args) =>
  Effect.scoped(
    Effect.gen(function* () {
      const small = Number(args[0] ?? 2_000)
      const large = Number(args[1] ?? 20_000)
      const planned = Number(args[2] ?? 100_000)
      const dir = yield* tempDir
      process.stdout.write(
        `backfill bench: builds of ${small} and ${large} hours, a dry run of ${planned}, in ${dir}\n`
      )
      const few = yield* measure(dir, ["build", hours(small)])
      const many = yield* measure(dir, ["build", hours(large)])
      const dryFew = yield* measure(dir, ["build", hours(small), "--dry-run"])
      const dryMany = yield* measure(dir, ["build", hours(planned), "--dry-run"])
      yield* report("backfill", [
        {
          id: "backfill.build.rss",
          case: `peak RSS of a ${large}-partition backfill`,
          unit: "MiB",
          value: many.rss,
          baseline: { name: `the same for ${small} partitions`, value: few.rss },
          higherIsBetter: false
        },
        {
          id: "backfill.build.rate",
          case: `partitions built per second, ${large}-partition backfill (process start included)`,
          unit: "partitions/s",
          value: (large * 1000) / many.ms,
          baseline: { name: `the same for ${small} partitions`, value: (small * 1000) / few.ms },
          higherIsBetter: true
        },
        {
          id: "backfill.dryrun.rss",
          case: `peak RSS of a ${planned}-partition dry run`,
          unit: "MiB",
          value: dryMany.rss,
          baseline: { name: `the same for ${small} partitions`, value: dryFew.rss },
          higherIsBetter: false
        }
      ])
    })
  )

export default bench
