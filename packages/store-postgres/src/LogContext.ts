/**
 * What the parts of one log (its append, its reads, its queue) share: the client, the schema's
 * tables, the NOTIFY channel and the retry policy.
 */
import type * as Statement from "@effect/sql/Statement"
import type * as PgClient from "@effect/sql-pg/PgClient"
import type { Duration } from "effect"
import type { Resilient } from "./Resilience.js"

export interface LogContext {
  readonly sql: PgClient.PgClient
  readonly schema: string
  readonly tables: {
    readonly events: Statement.Identifier
    readonly partitions: Statement.Identifier
    readonly jobRuns: Statement.Identifier
    readonly buildRequests: Statement.Identifier
  }
  /** The channel appends NOTIFY with the new head (and the queue with `QUEUE_PAYLOAD`). */
  readonly channel: string
  readonly resilient: Resilient
  /** How long a transaction's statements and lock waits may take before it fails. */
  readonly operationTimeout: Duration.Duration
}
