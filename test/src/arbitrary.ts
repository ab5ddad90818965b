/**
 * Random histories for property tests: small id spaces so that random operations often make valid
 * transitions and often collide (claims on held partitions, steps out of order, retries).
 */
import { type BuildEvent, Expectation, PartitionRef, type Status } from "@tessera/core"
import { FastCheck as fc } from "effect"
import * as ev from "./events.js"

const builds = ["b0", "b1", "b2"] as const
const refs = ["sales/date=1", "sales/date=2", "sales/date=3", "report/week=1", "raw/date=1"] as const
const runs = ["r0", "r1", "r2", "r3"] as const

const runSpec = (run: number, attempt: number, lease: "live" | "expired" | "none"): ev.RunSpec => ({
  run: runs[run]!,
  build: builds[run % 2]!,
  job: run % 2 === 0 ? "clean" : "aggregate",
  version: attempt === 1 ? "1" : "2",
  outputs: [refs[run]!, refs[(run + 1) % refs.length]!],
  inputs: [refs[4]!],
  attempt,
  ...(lease === "none" ? {} : { lease: lease === "live" ? ev.liveLease() : ev.expiredLease() })
})

export type Op =
  | { readonly op: "received"; readonly build: number }
  | { readonly op: "buildStatus"; readonly build: number; readonly status: Status.BuildRequestStatus }
  | {
      readonly op: "jobRun"
      readonly run: number
      readonly status: Status.JobRunStatus
      readonly attempt: number
      readonly lease: "live" | "expired" | "none"
    }
  | {
      readonly op: "partition"
      readonly ref: number
      readonly status: Status.PartitionStatus
      readonly run: number | null
    }
  | { readonly op: "heartbeat"; readonly run: number; readonly lease: "live" | "expired" }
  | { readonly op: "invalidated"; readonly ref: number }
  | { readonly op: "source"; readonly ref: number }
  | { readonly op: "delegated"; readonly ref: number; readonly build: number }
  | { readonly op: "claim"; readonly run: number; readonly lease: "live" | "expired" }
  | { readonly op: "complete"; readonly run: number }
  | { readonly op: "resend" }

const build = fc.integer({ min: 0, max: builds.length - 1 })
const run = fc.integer({ min: 0, max: runs.length - 1 })
const ref = fc.integer({ min: 0, max: refs.length - 1 })
const lease = fc.constantFrom("live" as const, "expired" as const)

export const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("received" as const), build }),
  fc.record({
    op: fc.constant("buildStatus" as const),
    build,
    status: fc.constantFrom<Status.BuildRequestStatus>("PLANNING", "EXECUTING", "COMPLETED", "FAILED", "CANCELLED")
  }),
  fc.record({
    op: fc.constant("jobRun" as const),
    run,
    status: fc.constantFrom<Status.JobRunStatus>("SCHEDULED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "SKIPPED"),
    attempt: fc.integer({ min: 1, max: 2 }),
    lease: fc.constantFrom("live" as const, "expired" as const, "none" as const)
  }),
  fc.record({
    op: fc.constant("partition" as const),
    ref,
    status: fc.constantFrom<Status.PartitionStatus>(
      "REQUESTED",
      "SCHEDULED",
      "BUILDING",
      "AVAILABLE",
      "FAILED",
      "STALE"
    ),
    run: fc.option(run)
  }),
  fc.record({ op: fc.constant("heartbeat" as const), run, lease }),
  fc.record({ op: fc.constant("invalidated" as const), ref }),
  fc.record({ op: fc.constant("source" as const), ref }),
  fc.record({ op: fc.constant("delegated" as const), ref, build }),
  fc.record({ op: fc.constant("claim" as const), run, lease }),
  fc.record({ op: fc.constant("complete" as const), run }),
  fc.constant({ op: "resend" as const })
)

const partitionRef = ref.map((i) => PartitionRef.unsafeMake(refs[i]!))
const seq = fc.integer({ min: 0, max: 24 })

/** Conditions a batch may be appended under: each kind of `Expectation`, over the same small id spaces. */
export const expectation: fc.Arbitrary<Expectation.Expectation> = fc.oneof(
  fc
    .record({ ref: partitionRef, except: fc.option(run, { nil: undefined }) })
    .map(
      ({ ref, except }) =>
        new Expectation.Claimable({ ref, ...(except === undefined ? {} : { except: runs[except]! }) })
    ),
  fc
    .record({
      ref: partitionRef,
      statuses: fc.subarray<Status.CatalogStatus>(["UNKNOWN", "SCHEDULED", "BUILDING", "AVAILABLE", "FAILED", "STALE"])
    })
    .map((fields) => new Expectation.PartitionIs(fields)),
  fc.record({ ref: partitionRef, maxSeq: seq }).map((fields) => new Expectation.AvailableAtOrBefore(fields)),
  fc.record({ ref: partitionRef, run }).map(({ ref, run }) => new Expectation.HeldBy({ ref, jobRunId: runs[run]! })),
  fc
    .record({ run, statuses: fc.subarray(["ABSENT", "SCHEDULED", "RUNNING", "COMPLETED", "FAILED"] as const) })
    .map(({ run, statuses }) => new Expectation.JobRunIs({ jobRunId: runs[run]!, statuses })),
  fc.record({ ref: partitionRef, updatedSeq: seq }).map((fields) => new Expectation.Unchanged(fields)),
  fc.record({ ref: partitionRef, seq }).map((fields) => new Expectation.NotRebuiltAfter(fields))
)

/** One append: its operations, and the conditions it is appended under (often none). */
export interface Append {
  readonly ops: ReadonlyArray<Op>
  readonly expect: ReadonlyArray<Expectation.Expectation>
}

/** A history: batches of operations, each batch one append. */
export const history: fc.Arbitrary<ReadonlyArray<Append>> = fc.array(
  fc.record({
    ops: fc.array(op, { minLength: 1, maxLength: 2 }),
    expect: fc.oneof(fc.constant([]), fc.array(expectation, { minLength: 1, maxLength: 2 }))
  }),
  {
    minLength: 1,
    maxLength: 40
  }
)

/** The events of one batch; `previous` is the last batch, for `resend` (idempotent retries). */
export const toEvents = (batch: ReadonlyArray<Op>, previous: ReadonlyArray<BuildEvent.BuildEvent>) => {
  const out: Array<BuildEvent.BuildEvent> = []
  for (const o of batch) {
    switch (o.op) {
      case "received":
        out.push(ev.received(builds[o.build]!, [refs[o.build]!]))
        break
      case "buildStatus":
        out.push(ev.buildStatus(builds[o.build]!, o.status, "because"))
        break
      case "jobRun":
        out.push(ev.jobRun(runSpec(o.run, o.attempt, o.lease), o.status))
        break
      case "partition":
        out.push(
          ev.partition(
            refs[o.ref]!,
            o.status,
            builds[(o.run ?? 0) % 2]!,
            o.run === null ? undefined : runs[o.run]!,
            "msg"
          )
        )
        break
      case "heartbeat":
        out.push(
          ev.heartbeat(runs[o.run]!, builds[o.run % 2]!, o.lease === "live" ? ev.liveLease() : ev.expiredLease())
        )
        break
      case "invalidated":
        out.push(ev.invalidated(refs[o.ref]!, builds[0]!))
        break
      case "source":
        out.push(ev.source(refs[o.ref]!, builds[0]!))
        break
      case "delegated":
        out.push(ev.delegated(refs[o.ref]!, builds[o.build]!, builds[(o.build + 1) % builds.length]!, "active"))
        break
      case "claim":
        out.push(...ev.claim(runSpec(o.run, 1, o.lease)))
        break
      case "complete":
        out.push(...ev.complete(runSpec(o.run, 1, "live")))
        break
      case "resend":
        out.push(...previous)
        break
    }
  }
  return out
}
