/** How long a claim lives without a heartbeat; heartbeats come every third of it. */
export const DEFAULT_LEASE_MS = 30_000

/** Job runs one process executes at once. */
export const DEFAULT_CONCURRENCY = 4
