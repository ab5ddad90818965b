import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import { fileDatabase } from "../src/postgres.js"
import { automationSuite } from "./automation.js"

const database = await fileDatabase()

automationSuite("a PostgreSQL log", {
  // A schema of its own per trial in this file's database, which is dropped after the file's tests.
  store: Effect.map(database, (url) => `${url}?schema=automation_${randomBytes(4).toString("hex")}`)
})
