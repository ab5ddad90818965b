/**
 * Runs the real `tessera` command (packages/cli/dist/bin.js, built by test/setup/build.ts) in child
 * processes against a SQLite log in a temporary folder, and reads that log back for assertions.
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Builds, EventFilter, type BuildEvent, Graph } from "@tessera/core"
import { SqliteEventLog } from "@tessera/store-sqlite"
import { Chunk, Effect, Layer, Schedule, Stream } from "effect"
import { startNode } from "../src/processes.js"
import * as Stores from "../src/stores.js"

export type { Exit, Running } from "../src/processes.js"

export const bin = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url))
export const fixtureGraph = fileURLToPath(new URL("./fixtures/cli-graph.ts", import.meta.url))

export const tempDir = Stores.tempDir("tessera-cli-")

export const logFile = (dir: string) => path.join(dir, "events.db")

/** Runs `tessera ...args`, with no graph or store added, to its end. */
export const runCli = (
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: Record<string, string | undefined> } = {}
) => Effect.flatMap(startNode([bin, ...args], options), (running) => running.exit)

/** Starts `tessera --graph <fixture> --store sqlite:<dir>/events.db ...args` in `dir`; killed with the scope. */
export const start = (dir: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  startNode([bin, "--graph", fixtureGraph, "--store", `sqlite:${logFile(dir)}`, ...args], { cwd: dir, env })

/** Runs `tessera ...args` to its end. */
export const tessera = (dir: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.flatMap(start(dir, args, env), (running) => running.exit)

/** Every event of the log, read with a connection of its own that is closed again. */
export const events = (dir: string): Effect.Effect<ReadonlyArray<BuildEvent.LoggedEvent>> =>
  Effect.scoped(
    Effect.gen(function* () {
      const log = yield* SqliteEventLog.make({ filename: logFile(dir) })
      return Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream(EventFilter.all)))
    })
  ).pipe(Effect.orDie)

/** Polls the log until `found` holds for its events. */
export const waitForLog = (dir: string, found: (events: ReadonlyArray<BuildEvent.LoggedEvent>) => boolean) =>
  events(dir).pipe(
    Effect.filterOrFail(found, () => "not yet" as const),
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.orDie
  )

/** Registers raw/date=n as source partitions, as a file-arrival sensor would. */
export const registerRaw = (dir: string, days: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const builds = yield* Builds.Builds
    for (const n of days)
      yield* builds.registerSource(`raw/date=${n}`, { path: `/data/raw/${n}.csv`, checksum: `c${n}` })
  }).pipe(
    Effect.provide(Layer.provideMerge(Builds.layer(Graph.make([])), SqliteEventLog.layer({ filename: logFile(dir) }))),
    Effect.orDie
  )

/** How often each partition became AVAILABLE through a job run. */
export const availableCounts = (log: ReadonlyArray<BuildEvent.LoggedEvent>): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const { event } of log) {
    if (event._tag === "PartitionStatusChanged" && event.status === "AVAILABLE" && event.jobRunId !== undefined) {
      counts.set(event.partitionRef, (counts.get(event.partitionRef) ?? 0) + 1)
    }
  }
  return counts
}

export const jobRunStatuses = (log: ReadonlyArray<BuildEvent.LoggedEvent>, buildRequestId: string) =>
  log.flatMap(({ event }) =>
    event._tag === "JobRunStatusChanged" && event.buildRequestId === buildRequestId ? [event] : []
  )
