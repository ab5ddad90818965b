/**
 * What `compact` and `vacuum` share: the configured store must be a Delta table, and store-delta is
 * imported only then, as the store layers import it only when a command opens that store.
 */
import { Effect } from "effect"
import type * as Settings from "../config/Settings.js"
import * as Store from "../config/Store.js"
import { NeedsDeltaStore } from "../Errors.js"
import { settings } from "./Root.js"

export type StoreDelta = typeof import("@tessera/store-delta")

/** Runs `body` on the folder of the configured Delta store. */
export const withDeltaTable = <A, E, R>(
  command: string,
  flags: Settings.Flags,
  body: (path: string, delta: StoreDelta) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function* () {
    const resolved = yield* settings(flags)
    if (resolved.store._tag !== "Delta") {
      return yield* new NeedsDeltaStore({ command, store: Store.describe(resolved.store) })
    }
    const delta = yield* Effect.promise(() => import("@tessera/store-delta"))
    return yield* body(resolved.store.path, delta)
  })
