/**
 * The sales pipeline end to end: raw CSVs registered as sources, then built through the real `tessera`
 * command in a child process, writing real files.
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
import { dateRange, writeRaw } from "../src/data.js"
import { rawRef } from "../src/graph.js"

const bin = fileURLToPath(new URL("../../../packages/cli/dist/bin.js", import.meta.url))
const graph = fileURLToPath(new URL("../src/graph.ts", import.meta.url))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-sales-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const tessera = (dir: string, args: ReadonlyArray<string>) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = spawn(
      process.execPath,
      [bin, "--graph", graph, "--store", `sqlite:${path.join(dir, "events.db")}`, ...args],
      { cwd: dir, env: { ...process.env, SALES_OUTPUT: path.join(dir, "output") } }
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

const register = (dir: string, dates: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const builds = yield* Builds.Builds
    for (const { date, file } of writeRaw(path.join(dir, "raw"), dates)) {
      yield* builds.registerSource(rawRef(date), { path: file, checksum: date })
    }
  }).pipe(
    Effect.provide(
      Layer.provideMerge(Builds.layer(Graph.make([])), SqliteEventLog.layer({ filename: path.join(dir, "events.db") }))
    )
  )

describe("sales example", () => {
  it.scopedLive(
    "builds a weekly report from 7 days of raw CSVs through the CLI, then builds nothing",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* register(dir, dateRange("2026-11-01", "2026-11-07"))

        const first = yield* tessera(dir, ["build", "weekly/end=2026-11-07", "--json"])
        expect(first.code, first.stderr).toBe(0)
        expect(JSON.parse(first.stdout)).toMatchObject({ status: "COMPLETED", built: 15 })

        const output = path.join(dir, "output")
        const dailies = dateRange("2026-11-01", "2026-11-07").map(
          (date) =>
            JSON.parse(fs.readFileSync(path.join(output, "daily", `date=${date}.json`), "utf8")) as {
              revenue: number
            }
        )
        const total = Math.round(dailies.reduce((sum, day) => sum + day.revenue, 0) * 100) / 100
        const report = fs.readFileSync(path.join(output, "weekly", "end=2026-11-07.md"), "utf8")
        expect(report).toContain(`Revenue: ${total.toFixed(2)} over 2026-11-01 .. 2026-11-07`)

        // The cleaning job dropped the broken rows the generator plants.
        const status = yield* tessera(dir, ["status", "clean/", "--json"])
        const rows = JSON.parse(status.stdout).partitions as ReadonlyArray<{ manifest: { dropped: number } }>
        expect(rows).toHaveLength(7)
        expect(rows.some((row) => row.manifest.dropped > 0)).toBe(true)

        const second = yield* tessera(dir, ["build", "weekly/end=2026-11-07"])
        expect(second.code, second.stderr).toBe(0)
        expect(second.stdout).toContain("Nothing to build")

        const missing = yield* tessera(dir, ["build", "weekly/end=2026-11-08"])
        expect(missing.code).toBe(2)
        expect(missing.stderr).toContain("raw/date=2026-11-08")
      }),
    120_000
  )
})
