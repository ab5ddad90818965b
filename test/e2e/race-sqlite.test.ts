import * as path from "node:path"
import { Effect } from "effect"
import { tempDir } from "../src/stores.js"
import { raceSuite } from "./race.js"

raceSuite("a SQLite file", {
  store: Effect.map(tempDir("tessera-race-sqlite-"), (dir) => `sqlite:${path.join(dir, "events.db")}`)
})
