import { PgStore } from "@tessera/store-postgres"
import { Effect } from "effect"
import { fileDatabase } from "../src/postgres.js"
import { compactionSuite } from "./compaction.js"

const database = await fileDatabase()

compactionSuite("PostgreSQL", {
  // Each open is a fresh schema in this file's database, dropped when the scope closes.
  open: Effect.map(database, (url) => ({
    layer: PgStore.layerTemporary({ url, maxConnections: 4, pollInterval: "200 millis" })
  })),
  propertyRuns: 25
})
