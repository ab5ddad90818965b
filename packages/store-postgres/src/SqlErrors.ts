/**
 * What a PostgreSQL error means to the store: whether retrying can help, and the `StoreError` a
 * user sees, naming what to check.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { EventLog } from "@tessera/core"
import { Duration } from "effect"

/** The name stores report in `StoreError`s. */
export const STORE = "postgres"

const causeOf = (error: SqlError): { readonly code?: string; readonly message?: string } => {
  const cause: unknown = error.cause
  if (typeof cause !== "object" || cause === null) return {}
  const code = "code" in cause && typeof cause.code === "string" ? cause.code : undefined
  const message = "message" in cause && typeof cause.message === "string" ? cause.message : undefined
  return { ...(code === undefined ? {} : { code }), ...(message === undefined ? {} : { message }) }
}

const SQLSTATE = /^[0-9A-Z]{5}$/
/** Connection exceptions, server shutdown or termination (`pg_terminate_backend`), too many connections. */
const RETRYABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300", "40001", "40P01"])

/**
 * Whether retrying can help: the connection broke, the server restarted, or a node socket error.
 * Errors the server reports about the statement itself (a SQLSTATE outside these) are final.
 */
export const isTransient = (error: SqlError): boolean => {
  const { code, message } = causeOf(error)
  // The pool was closed under the call (its layer is shutting down): no retry can help.
  if (message?.includes("after calling end on the pool")) return false
  if (code === undefined || !SQLSTATE.test(code)) return !(error.cause instanceof TypeError)
  return code.startsWith("08") || RETRYABLE_SQLSTATES.has(code)
}

export const isSqlError = (error: unknown): error is SqlError =>
  typeof error === "object" && error !== null && "_tag" in error && error._tag === "SqlError"

export const describe = (error: SqlError): string => {
  const { code, message } = causeOf(error)
  const detail = message === undefined ? "" : `: ${message}${code === undefined ? "" : ` (${code})`}`
  return `${error.message}${detail}`
}

export const storeError = (operation: string, error: SqlError, retryFor: Duration.Duration) =>
  new EventLog.StoreError({
    store: STORE,
    operation,
    reason: isTransient(error)
      ? `${describe(error)}; PostgreSQL stayed unreachable for ${Duration.format(retryFor)} of retries. ` +
        `Check that the server is up and the connection settings (the store URL: --store, TESSERA_STORE or DATABASE_URL) are right`
      : describe(error),
    cause: error
  })
