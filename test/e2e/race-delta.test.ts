import * as path from "node:path"
import { Effect } from "effect"
import { tempDir } from "../src/stores.js"
import { raceSuite } from "./race.js"

raceSuite("a Delta table", {
  store: Effect.map(tempDir("tessera-race-delta-"), (dir) => `delta:${path.join(dir, "events")}`)
})
