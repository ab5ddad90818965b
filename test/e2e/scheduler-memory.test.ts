import { InMemoryEventLog } from "@tessera/core"
import { schedulerScenarios } from "./scheduler.js"

schedulerScenarios("the in-memory store", InMemoryEventLog.layer)
