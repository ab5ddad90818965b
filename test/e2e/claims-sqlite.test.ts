import * as path from "node:path"
import { Effect } from "effect"
import { tempDir } from "../src/stores.js"
import { multiProcessClaims } from "./claims.js"

multiProcessClaims("a SQLite file", {
  store: Effect.map(tempDir("tessera-sqlite-mp-"), (dir) => `sqlite:${path.join(dir, "events.db")}`),
  processes: 4,
  claims: 1000,
  partitions: 100
})
