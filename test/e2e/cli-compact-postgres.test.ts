import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import { fileDatabase } from "../src/postgres.js"
import { cliCompaction } from "./cli-compact.js"

const database = await fileDatabase()

// A schema of its own per test, in this file's database (dropped with it).
cliCompaction(
  "PostgreSQL",
  Effect.map(database, (url) => `${url}?schema=compact_${randomBytes(5).toString("hex")}`)
)
