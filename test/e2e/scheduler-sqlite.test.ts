import { sqliteFile } from "../src/stores.js"
import { schedulerScenarios } from "./scheduler.js"

schedulerScenarios("a SQLite file", sqliteFile)
