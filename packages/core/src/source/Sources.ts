/**
 * Source partitions: data that arrives from outside the graph (a file export, a table another
 * system writes), registered as AVAILABLE with a manifest that identifies its version.
 */
import { Clock, Effect, Either, Schema } from "effect"
import * as BuildEvent from "../event/BuildEvent.js"
import * as EventId from "../event/EventId.js"
import type { Manifest } from "../job/Manifest.js"
import type { EventLogShape } from "../log/EventLog.js"
import * as PartitionRefs from "../partition/PartitionRef.js"
import { Unchanged } from "../projection/Expectation.js"
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

/** Times a batch is judged again after another process registered one of its refs in between. */
const ATTEMPTS = 10

/**
 * Judges one batch against the catalog and appends what is new or changed, on condition that none
 * of its refs changed since the read: two processes registering the same file at once (two
 * daemons' sensors) record it once, and the one refused judges again and finds it unchanged.
 */
const registerBatch = (
  log: EventLogShape,
  batch: ReadonlyArray<PartitionRefs.PartitionRef>,
  sources: ReadonlyArray<Source>
) =>
  Effect.gen(function* () {
    for (let attempt = 1; ; attempt++) {
      const rows = yield* catalogRows(log, batch)
      const timestamp = yield* Clock.currentTimeMillis
      const buildRequestId = `source-${EventId.unsafeMake(timestamp)}`
      const outcomes = batch.map((ref, i) => ({ ref, outcome: judge(rows.get(ref), sources[i]!.manifest) }))
      const events = outcomes.flatMap(({ ref, outcome }, i) =>
        outcome === "unchanged"
          ? []
          : [
              new BuildEvent.SourcePartitionRegistered({
                eventId: EventId.unsafeMake(timestamp),
                timestamp,
                buildRequestId,
                partitionRef: ref,
                manifest: sources[i]!.manifest
              })
            ]
      )
      if (events.length === 0) return outcomes
      const expect = events.map(
        (event) => new Unchanged({ ref: event.partitionRef, updatedSeq: rows.get(event.partitionRef)?.updatedSeq ?? 0 })
      )
      const appended = yield* Effect.either(log.append(events, { expect }))
      if (Either.isRight(appended)) return outcomes
      if (appended.left._tag !== "AppendConflict" || attempt === ATTEMPTS) return yield* appended.left
    }
  })

/**
 * Registers `sources` as AVAILABLE source partitions: every ref is checked before anything is
 * written, then each batch of `BATCH_SIZE` is judged against the catalog in one read and recorded
 * in one conditional append, one registration id per batch.
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
    outcomes.push(...(yield* registerBatch(log, refs.slice(start, start + BATCH_SIZE), sources.slice(start))))
  }
  const count = (outcome: Outcome) => outcomes.filter((o) => o.outcome === outcome).length
  return { outcomes, registered: count("registered"), changed: count("changed"), unchanged: count("unchanged") }
})
