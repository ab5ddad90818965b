/**
 * The loop of a `Sensor.files`: a chokidar watcher on the glob's folder wakes it, a scan every
 * `pollMs` catches what the watcher missed (and is all there is on file systems without events,
 * with `usePolling`). Each pass lists the glob's matches, hashes the files it has not judged at their
 * current size and mtime, and hands them to `SensorPass`: the catalog, not this process, decides
 * what is new, so a restarted daemon hashes every file once again and registers none twice.
 *
 * chokidar (4.x: the line for Node 20; 5 and 6 need newer Node) because `fs.watch` alone misses
 * events on macOS and network shares, reports renames as two events and has no polling mode.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Automation, AutomationState, type Sensor, SensorPass, type Sources } from "@tessera/core"
import { watch } from "chokidar"
import { Clock, Console, Duration, Effect, Option, Queue } from "effect"
import * as SourceFiles from "../sources/SourceFiles.js"
import * as SourceGlob from "../sources/SourceGlob.js"

/**
 * A file is taken once its mtime is this old: one still being written would be registered half
 * written, then again when complete. Writers that rename a finished file into place are taken at once.
 */
export const SETTLE_MS = 1000

/** After a watcher event, how long to wait for the events that come with it (a copy of many files). */
const BATCH_MS = 100

const HASHING = 8

/** How often a paused sensor looks whether it was resumed. */
const PAUSED_CHECK_MS = 2000

interface Judged {
  readonly size: number
  readonly mtimeMs: number
}

/** The sources among `found` not judged before at their size and mtime; files still settling wait. */
const changed = (
  found: ReadonlyArray<SourceGlob.Match>,
  cwd: string,
  judged: ReadonlyMap<string, Judged>,
  now: number
) => {
  const out: Array<SourceGlob.Match & Judged> = []
  let settling = false
  for (const match of found) {
    const stat = fs.statSync(path.resolve(cwd, match.path), { throwIfNoEntry: false })
    if (stat === undefined) continue
    const seen = judged.get(match.path)
    if (seen !== undefined && seen.size === stat.size && seen.mtimeMs === stat.mtimeMs) continue
    if (now - stat.mtimeMs < SETTLE_MS) {
      settling = true
      continue
    }
    out.push({ ...match, size: stat.size, mtimeMs: stat.mtimeMs })
  }
  return { out, settling }
}

/** One pass over the folder: what it registered and requested, and whether a file is still settling. */
const pass = (sensor: Sensor.FileSensor, cwd: string, judged: Map<string, Judged>, options: Automation.Options) =>
  Effect.gen(function* () {
    const found = yield* SourceGlob.matches(sensor.glob, sensor.as, cwd)
    const { out, settling } = changed(found, cwd, judged, yield* Clock.currentTimeMillis)
    const sources: Array<Sources.Source> = yield* Effect.forEach(
      out,
      (file) =>
        Effect.map(SourceFiles.manifestOf(file.path, Option.none(), cwd), (manifest) => ({
          ref: file.ref,
          manifest: { ...manifest, mtime: new Date(file.mtimeMs).toISOString() }
        })),
      { concurrency: HASHING }
    )
    const result = yield* SensorPass.run(
      sensor.name,
      sources,
      sources.map((source) => ({ refs: sensor.build?.([source.ref]) ?? [], sources: [source] })),
      options
    )
    for (const file of out) judged.set(file.path, { size: file.size, mtimeMs: file.mtimeMs })
    return { result, settling }
  })

/** The loop of `sensor`, over files under `cwd`. */
export const loop = (sensor: Sensor.FileSensor, cwd: string, options: Automation.Options = {}): Automation.Loop => ({
  name: `sensor ${sensor.name}`,
  run: Effect.gen(function* () {
    const state = yield* AutomationState.AutomationState
    yield* state
      .open(sensor.name, "sensor", yield* Clock.currentTimeMillis)
      .pipe(Effect.retry({ times: 5 }), Effect.orDie)
    const wake = yield* Queue.sliding<void>(1)
    const folder = path.resolve(cwd, SourceGlob.baseOf(sensor.glob))
    yield* Effect.acquireRelease(
      Effect.sync(() =>
        watch(folder, { ignoreInitial: true, usePolling: sensor.usePolling, interval: Math.min(sensor.pollMs, 1000) })
          .on("all", () => Queue.unsafeOffer(wake, undefined))
          // A folder that is not there yet, or lost, is left to the scans.
          .on("error", () => undefined)
      ),
      (watcher) => Effect.promise(() => watcher.close())
    )
    const judged = new Map<string, Judged>()
    for (;;) {
      const row = (yield* Effect.orElseSucceed(state.rows([sensor.name]), () => new Map())).get(sensor.name)
      let settling = false
      if (row?.paused !== true) {
        const outcome = yield* Effect.either(pass(sensor, cwd, judged, options))
        const at = yield* Clock.currentTimeMillis
        if (outcome._tag === "Left") {
          yield* Console.error(`sensor ${sensor.name}: ${outcome.left.message}`)
          yield* Effect.ignore(state.ran(sensor.name, at, outcome.left.message))
        } else {
          settling = outcome.right.settling
          yield* Effect.ignore(state.ran(sensor.name, at))
          yield* Automation.announce(sensor.name, outcome.right.result)
        }
      }
      // Paused, it looks at the state every few seconds, so a resume takes effect without a file event.
      const wait = settling
        ? SETTLE_MS
        : row?.paused === true
          ? Math.min(sensor.pollMs, PAUSED_CHECK_MS)
          : sensor.pollMs
      const woken = yield* Effect.raceFirst(
        Effect.as(Queue.take(wake), true),
        Effect.as(Effect.sleep(Duration.millis(wait)), false)
      )
      if (woken) yield* Effect.sleep(Duration.millis(BATCH_MS))
    }
  })
})
