/**
 * `npm start`: generates three days of reviews, registers them as source partitions (as a file-arrival
 * sensor would), then builds each day's leaderboard through the `tessera` command. Running it again
 * registers nothing new and builds nothing.
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Builds, Graph } from "@tessera/core"
import { SqliteEventLog } from "@tessera/store-sqlite"
import { Console, Effect, Layer } from "effect"
import { writeRaw } from "./data.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const bin = fileURLToPath(new URL("../../../packages/cli/dist/bin.js", import.meta.url))
const log = path.join(root, ".tessera", "events.db")
const output = path.join(root, "output")
const from = "2026-11-01"
const days = 3
const reports = ["leaderboard/date=2026-11-01", "leaderboard/date=2026-11-02", "leaderboard/date=2026-11-03"]

/** Registers each raw file; a file already registered with the same checksum is left alone. */
const register = Effect.gen(function* () {
  const builds = yield* Builds.Builds
  let added = 0
  for (const { date, file } of writeRaw(path.join(root, "data", "reviews"), from, days)) {
    const checksum = `sha256:${createHash("sha256").update(fs.readFileSync(file)).digest("hex")}`
    const { registered } = yield* builds.registerSource(`reviews/date=${date}`, { path: file, checksum })
    if (registered) added++
  }
  return added
}).pipe(
  // Registering needs no jobs: the graph is only for builds, which the CLI runs.
  Effect.provide(Layer.provideMerge(Builds.layer(Graph.make([])), SqliteEventLog.layer({ filename: log })))
)

const tessera = (args: ReadonlyArray<string>) =>
  Effect.async<number>((resume) => {
    const child = spawn(
      process.execPath,
      [bin, "--graph", path.join(root, "src", "graph.ts"), "--store", `sqlite:${log}`, ...args],
      { stdio: "inherit", env: { ...process.env, REVIEWS_OUTPUT: output } }
    )
    child.on("close", (code) => resume(Effect.succeed(code ?? 1)))
    return Effect.sync(() => child.kill())
  })

const program = Effect.gen(function* () {
  const added = yield* register
  yield* Console.log(
    added === 0
      ? `No new review files: all ${days} days from ${from} are registered already.`
      : `Registered ${added} review file(s) as source partitions.`
  )
  yield* Console.log(`$ tessera build ${reports.join(" ")}`)
  const code = yield* tessera(["build", ...reports])
  yield* Console.log(
    [
      "",
      `Outputs:    ${output}  (categorized/, summary/, leaderboard/)`,
      `Event log:  ${log}`,
      `Inspect:    node ${path.relative(process.cwd(), bin)} --store sqlite:${log} status`
    ].join("\n")
  )
  if (code !== 0) yield* Effect.sync(() => (process.exitCode = code))
})

Effect.runPromise(
  program.pipe(
    Effect.catchAll((error) =>
      Effect.zipRight(
        Console.error(`error: ${error.message}`),
        Effect.sync(() => (process.exitCode = 2))
      )
    )
  )
)
