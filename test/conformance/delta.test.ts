import { DeltaEventLog } from "@tessera/store-delta"
import { Effect, Layer } from "effect"
import * as NodeFs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { conformance } from "../src/conformance.js"

// Each fresh store is a new Delta table in its own temp folder, removed when the layer is released.
const tableDir = Effect.acquireRelease(
  Effect.promise(() => NodeFs.mkdtemp(Path.join(Os.tmpdir(), "tessera-delta-conformance-"))),
  (dir) => Effect.promise(() => NodeFs.rm(dir, { recursive: true, force: true }))
)

conformance({
  name: "delta",
  fresh: Layer.unwrapScoped(Effect.map(tableDir, (path) => DeltaEventLog.layer({ path, pollInterval: "200 millis" })))
})
