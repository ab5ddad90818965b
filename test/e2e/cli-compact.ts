/**
 * `tessera compact --before` as an operator runs it, in real processes: a long log shrinks while
 * `status` and `status --build` print exactly what they printed before, with and without a Delta
 * archive that DuckDB reads. Written once, run on SQLite and PostgreSQL.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@tessera/cli"
import { EventFilter, EventLog } from "@tessera/core"
import { loadSnapshot } from "@tessera/store-delta"
import { Effect, Either, Schedule, type Scope, Stream } from "effect"
import { build } from "../src/builds.js"
import { startNode } from "../src/processes.js"
import { bin, fixtureGraph, runCli, tempDir } from "./cli-process.js"

const DAY = 86_400_000

/** `sql` over the archive's active files, as an engine without Delta support reads them. */
const duckdb = (table: string, sql: (source: string) => string) =>
  Effect.gen(function* () {
    const snapshot = yield* loadSnapshot(table)
    const files = snapshot.files.map((file) => `'${file.absolutePath.replaceAll("'", "''")}'`).join(", ")
    return yield* Effect.acquireUseRelease(
      Effect.promise(() => DuckDBInstance.create(":memory:")),
      (instance) =>
        Effect.promise(async () => {
          const connection = await instance.connect()
          try {
            return (
              await connection.runAndReadAll(sql(`read_parquet([${files}], hive_partitioning = false)`))
            ).getRowObjectsJS()
          } finally {
            connection.closeSync()
          }
        }),
      (instance) => Effect.sync(() => instance.closeSync())
    )
  })

/** Writes `count` finished builds from ten days ago and one still running, with the store's own layer. */
const fill = (store: string, count: number) =>
  Effect.gen(function* () {
    const log = yield* EventLog.EventLog
    const at = Date.now() - 10 * DAY
    for (let i = 0; i < count; i++) yield* log.append(build(`b${i}`, at + i, { runs: 3, heartbeats: 4 }))
    yield* log.append(build("running", at, { dataset: "live" }, false))
    return yield* Stream.runCount(log.stream(EventFilter.all))
  }).pipe(Effect.provide(Store.layer(Either.getOrThrow(Store.parse(store, "/")))), Effect.orDie)

const countEvents = (store: string) =>
  Effect.flatMap(EventLog.EventLog, (log) => Stream.runCount(log.stream(EventFilter.all))).pipe(
    Effect.provide(Store.layer(Either.getOrThrow(Store.parse(store, "/")))),
    Effect.orDie
  )

export const cliCompaction = (name: string, freshStore: Effect.Effect<string, never, Scope.Scope>) =>
  describe(`tessera compact --before on ${name}`, () => {
    const cli = (dir: string, store: string, args: ReadonlyArray<string>) =>
      runCli(["--store", store, ...args], { cwd: dir })
    const statuses = (dir: string, store: string) =>
      Effect.all(
        [
          ["status"],
          ["status", "--json"],
          ["status", "sales/run=1"],
          ["status", "--build", "b3"],
          ["status", "--build", "b3", "--json"],
          ["status", "--build", "running"]
        ].map((args) => Effect.map(cli(dir, store, args), (exit) => ({ args, code: exit.code, stdout: exit.stdout })))
      )

    it.scopedLive(
      "into a Delta archive DuckDB reads: the log shrinks, status answers as before, again is a no-op",
      () =>
        Effect.gen(function* () {
          const dir = yield* tempDir
          const store = yield* freshStore
          const total = yield* fill(store, 20)
          const before = yield* statuses(dir, store)
          expect(before.every((exit) => exit.code === 0)).toBe(true)
          const archive = path.join(dir, "archive")
          const exit = yield* cli(dir, store, ["compact", "--before", "7d", "--archive", `delta:${archive}`, "--json"])
          expect(exit.code, exit.stderr).toBe(0)
          const result = JSON.parse(exit.stdout)
          const perBuild = build("x", 0, { runs: 3, heartbeats: 4 }).length
          expect(result).toMatchObject({ removed: 20 * perBuild, heartbeats: 20 * 3 * 4, archived: 20 * perBuild })
          expect(yield* countEvents(store)).toBe(total - 20 * perBuild)
          expect(yield* statuses(dir, store)).toEqual(before)
          const rows = yield* duckdb(
            archive,
            (source) =>
              `SELECT count(*) AS n, count(DISTINCT seq) AS seqs, count(DISTINCT "buildRequestId") AS builds,
              sum(CASE WHEN kind = 'JobRunHeartbeat' THEN 1 ELSE 0 END) AS heartbeats FROM ${source}`
          )
          expect(rows).toEqual([
            { n: BigInt(20 * perBuild), seqs: BigInt(20 * perBuild), builds: 20n, heartbeats: BigInt(20 * 3 * 4) }
          ])
          const again = yield* cli(dir, store, ["compact", "--before", "7d", "--archive", `delta:${archive}`])
          expect(again.code, again.stderr).toBe(0)
          expect(again.stdout).toContain("Nothing to compact")
          expect((yield* loadSnapshot(archive)).files.length).toBe(2)
        })
    )

    it.scopedLive("without an archive the events are dropped; the policy in tessera.config.ts is the default", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const store = yield* freshStore
        const total = yield* fill(store, 5)
        const before = yield* statuses(dir, store)
        fs.writeFileSync(
          path.join(dir, "tessera.config.ts"),
          `export default { store: ${JSON.stringify(store)}, retention: { before: "3d", every: "1h" } }\n`
        )
        const exit = yield* runCli(["compact"], { cwd: dir })
        expect(exit.code, exit.stderr).toBe(0)
        expect(exit.stdout).toContain("without an archive")
        const perBuild = build("x", 0, { runs: 3, heartbeats: 4 }).length
        expect(yield* countEvents(store)).toBe(total - 5 * perBuild)
        expect(yield* statuses(dir, store)).toEqual(before)
      })
    )

    it.scopedLive("tessera daemon runs the config's retention policy on its timetable, and stops on SIGTERM", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const store = yield* freshStore
        const total = yield* fill(store, 5)
        fs.writeFileSync(
          path.join(dir, "tessera.config.ts"),
          `export default { store: ${JSON.stringify(store)}, graph: ${JSON.stringify(fixtureGraph)}, ` +
            `retention: { before: "3d", every: "1h" } }\n`
        )
        const daemon = yield* startNode([bin, "daemon"], { cwd: dir })
        const perBuild = build("x", 0, { runs: 3, heartbeats: 4 }).length
        // The policy's first run is at the daemon's start; the next would be an hour later.
        yield* countEvents(store).pipe(
          Effect.repeat({ until: (n) => n === total - 5 * perBuild, schedule: Schedule.spaced("200 millis") }),
          Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(daemon.output()) })
        )
        daemon.child.kill("SIGTERM")
        const exit = yield* daemon.exit
        expect(exit.code, exit.stderr).toBe(130)
        expect(exit.stdout).toContain("retention: events of finished builds older than 3d compacted every 1h")
      })
    )

    it.scopedLive("options that do not fit the store are refused with exit 2, the log unchanged", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const store = yield* freshStore
        const total = yield* fill(store, 2)
        for (const [args, message] of [
          [["compact"], "say what is old enough with --before"],
          [["compact", "--before", "soon"], "is not a bound"],
          [["compact", "--before", "7d", "--min-files", "3"], "--min-files is for Delta logs"],
          [["compact", "--before", "7d", "--archive", "sqlite:x.db"], "is not delta:PATH"],
          [["compact", "--before", "7d", "--archive", "delta:"], "needs a folder path"]
        ] as const) {
          const exit = yield* cli(dir, store, args)
          expect(exit.code, `${args.join(" ")}: ${exit.stderr}`).toBe(2)
          expect(exit.stderr).toContain(message)
        }
        expect(yield* countEvents(store)).toBe(total)
        const delta = yield* runCli(["--store", `delta:${path.join(dir, "log")}`, "compact", "--before", "7d"], {
          cwd: dir
        })
        expect(delta.code).toBe(2)
        expect(delta.stderr).toContain("a Delta log is itself the archive")
      })
    )
  })
