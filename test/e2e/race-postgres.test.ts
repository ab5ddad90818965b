import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import { fileDatabase } from "../src/postgres.js"
import { raceSuite } from "./race.js"

const database = await fileDatabase()

raceSuite("a PostgreSQL log", {
  // A schema of its own per trial in this file's database, which is dropped after the file's tests.
  store: Effect.map(database, (url) => `${url}?schema=race_${randomBytes(4).toString("hex")}`)
})
