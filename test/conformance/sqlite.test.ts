import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SqliteEventLog } from "@tessera/store-sqlite"
import { Effect, Layer } from "effect"
import { conformance } from "../src/conformance.js"

/** A new database file in its own temp directory each time the layer is built; removed with the layer. */
const freshFile = Layer.unwrapScoped(
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-sqlite-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    ),
    (dir) => SqliteEventLog.layer({ filename: path.join(dir, ".tessera", "events.db") })
  )
)

conformance({ name: "sqlite (file)", fresh: freshFile, propertyRuns: 200 })

conformance({ name: "sqlite (:memory:)", fresh: SqliteEventLog.layer({ filename: ":memory:" }), propertyRuns: 50 })
