import { PgStore } from "@tessera/store-postgres"
import { Effect, Layer } from "effect"
import { fileDatabase } from "../src/postgres.js"
import { workerScenarios } from "./workers.js"

const database = await fileDatabase()

workerScenarios(
  "the PostgreSQL store and queue",
  // Each scenario gets a fresh schema in this file's database, dropped when it ends.
  Layer.unwrapEffect(
    Effect.map(database, (url) => PgStore.layerTemporary({ url, maxConnections: 8, pollInterval: "100 millis" }))
  )
)
