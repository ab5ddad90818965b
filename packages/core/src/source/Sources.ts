/**
 * Source partitions: data that arrives from outside the graph (a file export, a table another
 * system writes), registered as AVAILABLE with a manifest that identifies its version.
 */
import { Clock, Effect, Schema } from "effect"
import * as BuildEvent from "../event/BuildEvent.js"
import * as EventId from "../event/EventId.js"
import type { Manifest } from "../job/Manifest.js"
import type { EventLogShape } from "../log/EventLog.js"
import * as PartitionRefs from "../partition/PartitionRef.js"
import { catalogRows } from "../scheduler/Settle.js"

export interface Source {
  readonly ref: string
  readonly manifest: Manifest
}

/**
 * What registering did to one ref: `registered` it is new, `changed` it was AVAILABLE with another
 * checksum (what was built from it is now stale), `unchanged` the same checksum is registered
 * already, so nothing was written and the same data is never processed twice.
 */
export type Outcome = "registered" | "changed" | "unchanged"

export interface Registered {
  readonly outcomes: ReadonlyArray<{ readonly ref: PartitionRefs.PartitionRef; readonly outcome: Outcome }>
  readonly registered: number
  readonly changed: number
  readonly unchanged: number
}

/** One batch named a ref twice: which of its manifests is the source's is not for Tessera to guess. */
export class DuplicateSource extends Schema.TaggedError<DuplicateSource>()("DuplicateSource", {
  ref: Schema.String
}) {
  override get message(): string {
    return `${this.ref} is given twice in one registration: give each source partition once`
  }
}

/** Refs judged and appended at once: a catalog read and one append per batch of this many. */
export const BATCH_SIZE = 1000

const judge = (
  row: { readonly status: string; readonly manifest?: Manifest | undefined } | undefined,
  manifest: Manifest
): Outcome => {
  if (row === undefined || row.status !== "AVAILABLE") return row === undefined ? "registered" : "changed"
  const checksum = manifest.checksum
  return checksum !== undefined && row.manifest?.checksum === checksum ? "unchanged" : "changed"
}

/**
 * Registers `sources` as AVAILABLE source partitions: every ref is checked before anything is
 * written, then each batch of `BATCH_SIZE` is judged against the catalog in one read and recorded
 * in one append, one registration id per batch.
 */
export const register = Effect.fn("Sources.register")(function* (log: EventLogShape, sources: ReadonlyArray<Source>) {
  const refs = yield* Effect.forEach(sources, (source) => PartitionRefs.parse(source.ref))
  const seen = new Set<string>()
  for (const ref of refs) {
    if (seen.has(ref)) return yield* new DuplicateSource({ ref })
    seen.add(ref)
  }
  const outcomes: Array<{ readonly ref: PartitionRefs.PartitionRef; readonly outcome: Outcome }> = []
  for (let start = 0; start < refs.length; start += BATCH_SIZE) {
    const batch = refs.slice(start, start + BATCH_SIZE)
    const rows = yield* catalogRows(log, batch)
    const timestamp = yield* Clock.currentTimeMillis
    const buildRequestId = `source-${EventId.unsafeMake(timestamp)}`
    const events: Array<BuildEvent.SourcePartitionRegistered> = []
    batch.forEach((ref, i) => {
      const manifest = sources[start + i]!.manifest
      const outcome = judge(rows.get(ref), manifest)
      outcomes.push({ ref, outcome })
      if (outcome !== "unchanged") {
        events.push(
          new BuildEvent.SourcePartitionRegistered({
            eventId: EventId.unsafeMake(timestamp),
            timestamp,
            buildRequestId,
            partitionRef: ref,
            manifest
          })
        )
      }
    })
    if (events.length > 0) yield* log.append(events)
  }
  const count = (outcome: Outcome) => outcomes.filter((o) => o.outcome === outcome).length
  return { outcomes, registered: count("registered"), changed: count("changed"), unchanged: count("unchanged") }
})
