import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import { fileDatabase } from "../src/postgres.js"
import { multiProcessClaims } from "./claims.js"

const database = await fileDatabase()

multiProcessClaims("a PostgreSQL log", {
  // A schema of its own in this file's database, which is dropped after the file's tests.
  store: Effect.map(database, (url) => `${url}?schema=claims_${randomBytes(4).toString("hex")}`),
  processes: 4,
  claims: 400,
  partitions: 40
})
