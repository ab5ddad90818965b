import { sqlite } from "./Harness.js"
import { scenarios } from "./streams.js"

scenarios("SQLite", sqlite)
