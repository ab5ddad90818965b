import { sqlite } from "./Harness.js"
import { scenarios } from "./webhooks.js"

scenarios("SQLite", sqlite)
