/**
 * The `tessera` command given careless or hostile arguments, as a real process: each gets exit 2
 * and a message naming what is wrong, and the log is left as it was. The fuzz test throws random
 * arguments at a build and checks the same: success, or exit 2 with nothing built — at most a
 * request recorded as FAILED at analysis (a well-formed ref no job produces and nobody registered).
 */
import * as fs from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import * as path from "node:path"
import { events, logFile, registerRaw, runCli, tempDir, tessera } from "./cli-process.js"

/** `tessera --store <store> ...args` to its end. */
const on = (store: string, args: ReadonlyArray<string>) => runCli(["--store", store, ...args])

describe("tessera on bad input", () => {
  for (const [args, message] of [
    [["build", "clean/date=1", "--bogus"], "unknown flag --bogus"],
    [["status", "--bogus"], "unknown flag --bogus"],
    [["build", "sales//date=1"], "empty segments"],
    [["build", "clean/date=1", "--id", ""], "invalid build request id"],
    [["build", "clean/date=1", "--id", "x".repeat(2000)], "longer than 256 bytes"],
    [["invalidate", "/sales/date=1"], "remove the leading '/'"],
    [["events", "--ref", "a//b"], "empty segments"]
  ] as const) {
    it.scopedLive(
      `tessera ${args.map((a) => (a.length > 20 ? `${a.slice(0, 20)}…` : a)).join(" ")}: exit 2, nothing written`,
      () =>
        Effect.gen(function* () {
          const dir = yield* tempDir
          yield* registerRaw(dir, [1])
          const before = yield* events(dir)
          const exit = yield* tessera(dir, args)
          expect(exit.code, exit.stderr).toBe(2)
          expect(exit.stdout + exit.stderr).toContain(message)
          expect(exit.stderr).not.toMatch(/unexpected failure|\n\s+at /)
          expect(yield* events(dir)).toEqual(before)
        })
    )
  }

  it.scopedLive("with --json an error is one JSON object on stdout, with the same exit code", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      for (const args of [
        ["status", "--json", "--bogus"],
        ["status", "--json", "--build", "nope"]
      ]) {
        const exit = yield* tessera(dir, args)
        expect(exit.code, exit.stderr).toBe(2)
        const error = JSON.parse(exit.stdout.trim().split("\n").at(-1)!) as { error: { _tag: string; message: string } }
        expect(error.error._tag).toMatch(/InvalidArgument|UnknownBuild/)
        expect(error.error.message.length).toBeGreaterThan(0)
      }
    })
  )

  it.scopedLive("a store that does not open is exit 2 naming the store, on every store", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const garbage = path.join(dir, "garbage.db")
      fs.writeFileSync(garbage, Buffer.alloc(8192, 0x5a))
      const table = path.join(dir, "table")
      fs.mkdirSync(path.join(table, "_delta_log"), { recursive: true })
      fs.writeFileSync(path.join(table, "_delta_log", "00000000000000000003.json"), "{}\n")
      for (const store of [
        `sqlite:${garbage}`,
        `delta:${table}`,
        "postgres://nobody@127.0.0.1:1/none?connect_timeout=1"
      ]) {
        const exit = yield* on(store, ["status"])
        expect(exit.code, `${store}: ${exit.stderr}`).toBe(2)
        expect(exit.stderr).toMatch(/^error: /)
        expect(exit.stderr).not.toMatch(/unexpected failure|\n\s+at /)
      }
    })
  )

  it.scopedLive(
    "fuzzed build arguments: each run succeeds or exits 2 naming the problem, and a refused run builds nothing",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* registerRaw(dir, [1])
        const token = fc.oneof(
          fc.constantFrom(
            "clean/date=1",
            "--id",
            "--concurrency",
            "--lease",
            "--dry-run",
            "--bogus",
            "-x",
            "",
            "0",
            "-1"
          ),
          fc.string({ unit: "binary", maxLength: 12 })
        )
        const samples = fc.sample(fc.array(token, { minLength: 1, maxLength: 4 }), { numRuns: 8, seed: 20261201 })
        for (const extra of samples) {
          const before = yield* events(dir)
          const exit = yield* tessera(dir, ["build", ...extra])
          expect([0, 2], `${JSON.stringify(extra)}: ${exit.stderr}`).toContain(exit.code)
          expect(exit.stderr).not.toMatch(/unexpected failure|\n\s+at /)
          if (exit.code === 2) {
            const added = (yield* events(dir)).slice(before.length).map((e) => e.event)
            expect(added.filter((e) => e._tag === "JobRunStatusChanged" || e._tag === "Delegated")).toEqual([])
            const received = added.filter((e) => e._tag === "BuildRequestReceived").length
            const failed = added.filter((e) => e._tag === "BuildRequestStatusChanged" && e.status === "FAILED").length
            expect(failed, JSON.stringify(extra)).toBe(received)
          }
        }
        expect(fs.existsSync(logFile(dir))).toBe(true)
      }),
    240_000
  )
})
