import * as path from "node:path"
import { Effect } from "effect"
import { tempDir } from "../src/stores.js"
import { liveCompaction } from "./compaction-processes.js"

liveCompaction(
  "a SQLite file",
  Effect.map(tempDir("tessera-live-compaction-"), (dir) => `sqlite:${path.join(dir, "events.db")}`)
)
