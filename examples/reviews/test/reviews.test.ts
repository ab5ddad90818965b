/**
 * The reviews pipeline end to end through the `tessera` command: one categorize run produces every
 * category's partition of a day, and the leaderboard fans in from all of them.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Builds, Graph } from "@tessera/core"
import { SqliteEventLog } from "@tessera/store-sqlite"
import { Effect, Layer } from "effect"
import { CATEGORIES, reviewsOf, writeRaw } from "../src/data.js"

const bin = fileURLToPath(new URL("../../../packages/cli/dist/bin.js", import.meta.url))
const graph = fileURLToPath(new URL("../src/graph.ts", import.meta.url))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-reviews-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const tessera = (dir: string, args: ReadonlyArray<string>) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = spawn(
      process.execPath,
      [bin, "--graph", graph, "--store", `sqlite:${path.join(dir, "events.db")}`, ...args],
      { cwd: dir, env: { ...process.env, REVIEWS_OUTPUT: path.join(dir, "output") } }
    )
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe("reviews example", () => {
  it.scopedLive(
    "one run categorizes a whole day; the leaderboard reuses it",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* Effect.gen(function* () {
          const builds = yield* Builds.Builds
          for (const { date, file } of writeRaw(path.join(dir, "reviews"), "2026-11-01", 1)) {
            yield* builds.registerSource(`reviews/date=${date}`, { path: file, checksum: date })
          }
        }).pipe(
          Effect.provide(
            Layer.provideMerge(
              Builds.layer(Graph.make([])),
              SqliteEventLog.layer({ filename: path.join(dir, "events.db") })
            )
          )
        )

        const one = yield* tessera(dir, ["build", "summary/category=news/date=2026-11-01", "--json"])
        expect(one.code, one.stderr).toBe(0)
        expect(JSON.parse(one.stdout)).toMatchObject({ status: "COMPLETED", built: 2 })
        const status = yield* tessera(dir, ["status", "categorized/", "--json"])
        const rows = JSON.parse(status.stdout).partitions as ReadonlyArray<{ status: string; jobRunId: string }>
        expect(rows.map((row) => row.status)).toEqual(CATEGORIES.map(() => "AVAILABLE"))
        expect(new Set(rows.map((row) => row.jobRunId)).size).toBe(1)

        const board = yield* tessera(dir, ["build", "leaderboard/date=2026-11-01", "--json"])
        expect(board.code, board.stderr).toBe(0)
        // Three more summaries and the leaderboard; the categorized partitions are reused.
        expect(JSON.parse(board.stdout)).toMatchObject({ status: "COMPLETED", built: 4 })
        const text = fs.readFileSync(path.join(dir, "output", "leaderboard", "date=2026-11-01.md"), "utf8")
        const reviews = reviewsOf("2026-11-01")
        for (const category of CATEGORIES) {
          const count = reviews.filter((review) => review.category === category).length
          expect(text).toMatch(new RegExp(`\\| ${category} \\| ${count} \\|`))
        }
      }),
    120_000
  )
})
