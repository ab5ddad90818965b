import { sqlite } from "./Harness.js"
import { scenarios } from "./api.js"

scenarios("SQLite", sqlite)
