import { postgres } from "./Harness.js"
import { scenarios } from "./streams.js"

scenarios("PostgreSQL", postgres)
