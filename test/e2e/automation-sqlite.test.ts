import * as path from "node:path"
import { Effect } from "effect"
import { tempDir } from "../src/stores.js"
import { automationSuite } from "./automation.js"

automationSuite("a SQLite file", {
  store: Effect.map(tempDir("tessera-automation-sqlite-"), (dir) => `sqlite:${path.join(dir, "events.db")}`)
})
