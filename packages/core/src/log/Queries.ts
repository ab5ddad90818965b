/**
 * Queries over the three views. Results come in pages ordered by the row's key (ref, job run id,
 * build request id, compared as strings); pass a page's `next` as `after` for the following page.
 */
import type { BuildRequestStatus, CatalogStatus, JobRunStatus } from "../event/Status.js"
import { Effect } from "effect"
import type { BuildRequestRow, JobRunRow, PartitionRow } from "../projection/Views.js"

export const DEFAULT_LIMIT = 1000
export const MAX_LIMIT = 10_000

/** The most keys one query names: a list's length bounds a statement's size in every store. */
export const KEYS_PER_QUERY = 5000

/** `keys` in lists of at most `KEYS_PER_QUERY`, one query each. */
export const chunksOf = <A>(keys: ReadonlyArray<A>): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) out.push(keys.slice(i, i + KEYS_PER_QUERY))
  return out
}

export interface Page<A> {
  readonly items: ReadonlyArray<A>
  /** The key to pass as `after` for the next page; absent on the last page. */
  readonly next?: string | undefined
}

export interface PartitionQuery {
  readonly refs?: ReadonlyArray<string> | undefined
  readonly prefix?: string | undefined
  readonly statuses?: ReadonlyArray<CatalogStatus> | undefined
  readonly after?: string | undefined
  readonly limit?: number | undefined
}

export interface JobRunQuery {
  readonly jobRunIds?: ReadonlyArray<string> | undefined
  readonly buildRequestIds?: ReadonlyArray<string> | undefined
  readonly jobNames?: ReadonlyArray<string> | undefined
  /** Runs that read any of these partitions: what was built from them, found through an index. */
  readonly inputs?: ReadonlyArray<string> | undefined
  readonly statuses?: ReadonlyArray<JobRunStatus> | undefined
  readonly after?: string | undefined
  readonly limit?: number | undefined
}

export interface BuildRequestQuery {
  readonly buildRequestIds?: ReadonlyArray<string> | undefined
  readonly statuses?: ReadonlyArray<BuildRequestStatus> | undefined
  readonly after?: string | undefined
  readonly limit?: number | undefined
}

/** Every row a paged query returns, page after page: `query` gets the `after` of each next page. */
export const allPages = <A, E>(
  query: (after: string | undefined) => Effect.Effect<Page<A>, E>
): Effect.Effect<Array<A>, E> =>
  Effect.gen(function* () {
    const rows: Array<A> = []
    let after: string | undefined
    do {
      const page = yield* query(after)
      rows.push(...page.items)
      after = page.next
    } while (after !== undefined)
    return rows
  })

export const limitOf = (limit: number | undefined): number =>
  Math.max(1, Math.min(MAX_LIMIT, Math.floor(limit ?? DEFAULT_LIMIT)))

export const matchesPartition = (query: PartitionQuery, row: PartitionRow): boolean =>
  (query.refs === undefined || query.refs.includes(row.ref)) &&
  (query.prefix === undefined || row.ref.startsWith(query.prefix)) &&
  (query.statuses === undefined || query.statuses.includes(row.status)) &&
  (query.after === undefined || row.ref > query.after)

export const matchesJobRun = (query: JobRunQuery, row: JobRunRow): boolean =>
  (query.jobRunIds === undefined || query.jobRunIds.includes(row.jobRunId)) &&
  (query.buildRequestIds === undefined || query.buildRequestIds.includes(row.buildRequestId)) &&
  (query.jobNames === undefined || query.jobNames.includes(row.jobName)) &&
  (query.inputs === undefined || row.inputs.some((ref) => query.inputs!.includes(ref))) &&
  (query.statuses === undefined || query.statuses.includes(row.status)) &&
  (query.after === undefined || row.jobRunId > query.after)

export const matchesBuildRequest = (query: BuildRequestQuery, row: BuildRequestRow): boolean =>
  (query.buildRequestIds === undefined || query.buildRequestIds.includes(row.buildRequestId)) &&
  (query.statuses === undefined || query.statuses.includes(row.status)) &&
  (query.after === undefined || row.buildRequestId > query.after)

/**
 * A page from rows in any order: filter, sort by key, cut. For stores that hold the views in memory;
 * SQL stores answer the same queries from indexes.
 */
export const pageOf = <A>(
  rows: Iterable<A>,
  keyOf: (row: A) => string,
  matches: (row: A) => boolean,
  limit: number | undefined
): Page<A> => {
  const selected: Array<A> = []
  for (const row of rows) if (matches(row)) selected.push(row)
  selected.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0))
  const n = limitOf(limit)
  if (selected.length <= n) return { items: selected }
  const items = selected.slice(0, n)
  return { items, next: keyOf(items[n - 1]!) }
}
