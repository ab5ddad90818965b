import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import { fileDatabase } from "../src/postgres.js"
import { liveCompaction } from "./compaction-processes.js"

const database = await fileDatabase()

liveCompaction(
  "PostgreSQL",
  Effect.map(database, (url) => `${url}?schema=live_${randomBytes(5).toString("hex")}`)
)
