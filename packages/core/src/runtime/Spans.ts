/**
 * Span options shared by the operations that run once per append, read or job.
 */

/**
 * Their call site is always the same line of Tessera, so capturing it for the span (an `Error` and
 * its stack on every call) told a trace nothing and cost a no-op job a few percent of its time.
 */
export const hot = { captureStackTrace: false } as const
