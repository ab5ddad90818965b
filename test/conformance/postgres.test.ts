import { PgEventLog } from "@tessera/store-postgres"
import { Effect, Layer } from "effect"
import { conformance } from "../src/conformance.js"
import { fileDatabase } from "../src/postgres.js"

const database = await fileDatabase()

conformance({
  name: "postgres",
  // Each build is a fresh schema in this file's database, dropped when the layer is released.
  fresh: Layer.unwrapEffect(
    Effect.map(database, (url) => PgEventLog.layerTemporary({ url, maxConnections: 4, pollInterval: "200 millis" }))
  ),
  propertyRuns: 200
})
