import { postgres } from "./Harness.js"
import { scenarios } from "./webhooks.js"

scenarios("PostgreSQL", postgres)
