/**
 * Backfills by range from the `tessera` command: a graph with declared dimensions, real processes,
 * a real SQLite log.
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { availableCounts, events, logFile, runCli, tempDir } from "./cli-process.js"

const graph = fileURLToPath(new URL("./fixtures/backfill-graph.ts", import.meta.url))

const tessera = (dir: string, args: ReadonlyArray<string>) =>
  runCli(["--graph", graph, "--store", `sqlite:${logFile(dir)}`, ...args], { cwd: dir })

describe("tessera build over a range", () => {
  it.scopedLive("a 90-day backfill over two colours: dry-run counts, progress, then nothing left to build", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const selection = "daily/date=2026-01-01..2026-03-31/color=*"
      const dry = yield* tessera(dir, ["build", selection, "--dry-run"])
      expect(dry.code).toBe(0)
      expect(dry.stdout.trim()).toBe(
        "180 partition(s): 180 build; 270 job run(s) would run. Nothing was recorded or run (dry run)."
      )
      expect(yield* events(dir)).toEqual([])

      const built = yield* tessera(dir, ["build", selection, "--concurrency", "8"])
      expect(built.code).toBe(0)
      const lines = built.stdout.trim().split("\n")
      expect(lines[0]).toBe("backfill: 0/180 done, 0 running, 180 left, 0.0 partitions/s")
      expect(lines).toContainEqual(
        expect.stringMatching(/^backfill: 180\/180 done, 0 running, 0 left, [\d.]+ partitions\/s$/)
      )
      expect(lines.at(-1)).toMatch(/^Backfilled 180\/180 partition\(s\) with 270 job run\(s\) in /)
      const counts = availableCounts(yield* events(dir))
      expect(counts.size).toBe(270)
      expect([...counts.values()].every((n) => n === 1)).toBe(true)
      expect(counts.get(path.posix.join("daily", "date=2026-03-31", "color=blue"))).toBe(1)

      const again = yield* tessera(dir, ["build", selection, "--dry-run", "--json"])
      expect(JSON.parse(again.stdout)).toEqual({
        partitions: 180,
        decisions: { reuse: 180 },
        runs: 0,
        missingSources: 0
      })
    })
  )

  it.scopedLive("--range fills a {param}; a lookback window reads the 7 days before", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const ranged = yield* tessera(dir, [
        "build",
        "weekly/date={date}",
        "--range",
        "date=2026-01-07..2026-01-09",
        "--json"
      ])
      expect(ranged.code).toBe(0)
      expect(JSON.parse(ranged.stdout)).toMatchObject({ partitions: 3, built: 12, failed: 0 })
    })
  )

  it.scopedLive(
    "refs and ranges outside a dimension are refused before anything is recorded; a window before the start fails analysis",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const before = yield* tessera(dir, ["build", "daily/date=2025-12-31/color=red"])
        expect(before.code).toBe(2)
        expect(before.stderr).toContain('date="2025-12-31" is outside its dimension: the calendar starts at 2026-01-01')
        const colour = yield* tessera(dir, ["build", "daily/date=2026-01-01..2026-01-02/color=green"])
        expect(colour.code).toBe(2)
        expect(colour.stderr).toContain("not one of red, blue")
        const open = yield* tessera(dir, ["build", "weekly/date={date}"])
        expect(open.code).toBe(2)
        expect(open.stderr).toContain("give {date} a value (--range date=a..b on the CLI)")
        expect(yield* events(dir)).toEqual([])
        // A job's lookback that reaches before the calendar fails the build's analysis, naming why.
        const window = yield* tessera(dir, ["build", "weekly/date=2026-01-03"])
        expect(window.code).toBe(2)
        expect(window.stderr).toContain("the calendar starts at 2026-01-01")
      })
  )
})
