import { postgres } from "./Harness.js"
import { scenarios } from "./api.js"

scenarios("PostgreSQL", postgres)
