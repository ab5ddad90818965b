/**
 * What multi-process tests count outside the log: the JSON lines jobs append to a side-effect file,
 * and the log of a store named as `--store` names it, read back after the processes end.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Store } from "@tessera/cli"
import { type BuildEvent, EventFilter, EventLog, type Views } from "@tessera/core"
import { Chunk, Effect, Either, Layer, type Scope, Stream } from "effect"
import { tempDir } from "./stores.js"

/** A fresh store's `--store` value, alive for the scope. */
export type FreshStore = Effect.Effect<string, never, Scope.Scope>

/** One trial of a multi-process test: a store, a folder to run in, and the side-effect file in it. */
export interface Trial {
  readonly store: string
  readonly effects: string
  readonly dir: string
}

export const trial = (prefix: string, store: FreshStore): Effect.Effect<Trial, never, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* tempDir(prefix)
    return { store: yield* store, effects: path.join(dir, "effects.jsonl"), dir }
  })

/** The lines of the side-effect file `file` (none when no job wrote one yet). */
export const read = <A>(file: string): Array<A> =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as A)
    : []

/** Every event and build request of the store `spec` (relative paths from `dir`). */
export const logOf = (
  spec: string,
  dir: string
): Effect.Effect<{
  readonly events: ReadonlyArray<BuildEvent.LoggedEvent>
  readonly builds: ReadonlyArray<Views.BuildRequestRow>
}> =>
  Effect.scoped(
    Effect.gen(function* () {
      const layer = Store.layer(Either.getOrThrow(Store.parse(spec, dir)))
      const log = yield* EventLog.EventLog.pipe(Effect.provide(yield* Layer.build(layer)))
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream(EventFilter.all)))
      const builds = (yield* log.buildRequests({})).items
      return { events, builds }
    })
  ).pipe(Effect.orDie)
