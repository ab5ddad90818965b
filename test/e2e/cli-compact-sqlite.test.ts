import * as path from "node:path"
import { Effect } from "effect"
import { tempDir } from "../src/stores.js"
import { cliCompaction } from "./cli-compact.js"

cliCompaction(
  "a SQLite file",
  Effect.map(tempDir("tessera-cli-compact-"), (dir) => `sqlite:${path.join(dir, "events.db")}`)
)
