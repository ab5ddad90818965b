import { InMemoryEventLog } from "@tessera/core"
import { conformance } from "../src/conformance.js"

conformance({ name: "in-memory", fresh: InMemoryEventLog.layer })
