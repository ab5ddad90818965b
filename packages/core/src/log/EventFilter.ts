/**
 * Which events a read, stream or tail returns. Fields combine with AND; the values inside one field
 * with OR. `partitionRefs` and `refPrefixes` together form one ref condition. An absent field does
 * not constrain; an empty array matches no event.
 */
import type { BuildEvent, Kind } from "../event/BuildEvent.js"
import { jobRunIdOf, partitionRefOf } from "../event/BuildEvent.js"

export interface EventFilter {
  readonly buildRequestIds?: ReadonlyArray<string> | undefined
  /** Events about exactly these partitions (see `BuildEvent.partitionRefOf`). */
  readonly partitionRefs?: ReadonlyArray<string> | undefined
  /** Events about partitions whose ref starts with one of these. */
  readonly refPrefixes?: ReadonlyArray<string> | undefined
  /** Events naming one of these job runs (see `BuildEvent.jobRunIdOf`). */
  readonly jobRunIds?: ReadonlyArray<string> | undefined
  readonly kinds?: ReadonlyArray<Kind> | undefined
  /** Events with `timestamp >= since` (ms). */
  readonly since?: number | undefined
  /** Events with `timestamp < until` (ms). */
  readonly until?: number | undefined
}

export const all: EventFilter = {}

/** Whether the filter can match nothing at all, so a store can answer without a query. */
export const isEmpty = (filter: EventFilter): boolean =>
  filter.buildRequestIds?.length === 0 ||
  filter.jobRunIds?.length === 0 ||
  filter.kinds?.length === 0 ||
  isEmptyRefCondition(filter) ||
  (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until)

const isEmptyRefCondition = (filter: EventFilter): boolean => {
  const parts = [filter.partitionRefs, filter.refPrefixes].filter((part) => part !== undefined)
  return parts.length > 0 && parts.every((part) => part.length === 0)
}

export const matches = (filter: EventFilter, event: BuildEvent): boolean => {
  if (filter.buildRequestIds !== undefined && !filter.buildRequestIds.includes(event.buildRequestId)) return false
  if (filter.kinds !== undefined && !filter.kinds.includes(event._tag)) return false
  if (filter.since !== undefined && event.timestamp < filter.since) return false
  if (filter.until !== undefined && event.timestamp >= filter.until) return false
  if (filter.jobRunIds !== undefined) {
    const id = jobRunIdOf(event)
    if (id === undefined || !filter.jobRunIds.includes(id)) return false
  }
  if (filter.partitionRefs !== undefined || filter.refPrefixes !== undefined) {
    const ref = partitionRefOf(event)
    if (ref === undefined) return false
    const exact = filter.partitionRefs?.includes(ref) ?? false
    if (!exact && !(filter.refPrefixes?.some((prefix) => ref.startsWith(prefix)) ?? false)) return false
  }
  return true
}

/** Events about the partition `ref` or about partitions under it (`ref/...`). */
export const aboutRef = (ref: string): EventFilter => ({ partitionRefs: [ref], refPrefixes: [`${ref}/`] })
