import { InMemoryEventLog, InMemoryJobQueue } from "@tessera/core"
import { Layer } from "effect"
import { workerScenarios } from "./workers.js"

workerScenarios("the in-memory store and queue", Layer.merge(InMemoryEventLog.layer, InMemoryJobQueue.layer))
