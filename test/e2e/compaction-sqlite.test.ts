import * as fs from "node:fs"
import * as path from "node:path"
import { SqliteCompactor, SqliteEventLog } from "@tessera/store-sqlite"
import { Effect, Layer } from "effect"
import { tempDir } from "../src/stores.js"
import { compactionSuite } from "./compaction.js"

const sizeOf = (file: string) => fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0

compactionSuite("a SQLite file", {
  open: Effect.map(tempDir("tessera-compaction-"), (dir) => {
    const filename = path.join(dir, "events.db")
    return {
      layer: Layer.merge(
        SqliteEventLog.layer({ filename, pollInterval: "50 millis" }),
        SqliteCompactor.layer({ filename })
      ),
      bytes: Effect.sync(() => sizeOf(filename) + sizeOf(`${filename}-wal`))
    }
  }),
  propertyRuns: 40
})
