/**
 * Store layers for suites that run on several stores: each build of a layer is a new, empty store.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { EventLog } from "@tessera/core"
import { SqliteEventLog } from "@tessera/store-sqlite"
import { Effect, Layer } from "effect"

/** A temp directory that lives as long as the layer built in it. */
export const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/** A new SQLite database file in its own temp directory each time the layer is built. */
export const sqliteFile: Layer.Layer<EventLog.EventLog, unknown> = Layer.unwrapScoped(
  Effect.map(tempDir("tessera-sqlite-"), (dir) =>
    SqliteEventLog.layer({ filename: path.join(dir, ".tessera", "events.db"), pollInterval: "50 millis" })
  )
)
