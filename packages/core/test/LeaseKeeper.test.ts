import { describe, expect, it } from "@effect/vitest"
import { BuildEvent, EventId, InMemoryEventLog, LeaseKeeper, PartitionRef } from "@tessera/core"
import { Clock, Effect, Fiber } from "effect"

/** A claim of `ref` by run `run` under a lease of `leaseMs`, appended at the test clock's now. */
const claimed = (run: string, ref: string, leaseMs: number) =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const stamp = () => ({ eventId: EventId.unsafeMake(now), timestamp: now, buildRequestId: "b1" })
    const output = PartitionRef.unsafeMake(ref)
    return [
      new BuildEvent.JobRunStatusChanged({
        ...stamp(),
        jobRunId: run,
        jobName: "job",
        jobVersion: "1",
        outputs: [output],
        inputs: [],
        attempt: 1,
        status: "SCHEDULED",
        leaseExpiresAt: now + leaseMs
      }),
      new BuildEvent.PartitionStatusChanged({ ...stamp(), partitionRef: output, status: "SCHEDULED", jobRunId: run })
    ]
  })

describe("LeaseKeeper", () => {
  it.scopedLive("extends each claim within its own lease, a short one held beside a long one included", () =>
    Effect.gen(function* () {
      const log = yield* InMemoryEventLog.make
      const keeper = yield* LeaseKeeper.make(log)
      const lost: Array<string> = []
      const keep = (run: string, ref: string, leaseMs: number) =>
        Effect.gen(function* () {
          yield* log.append(yield* claimed(run, ref, leaseMs))
          const claim = {
            buildRequestId: "b1",
            jobRunId: run,
            outputs: [PartitionRef.unsafeMake(ref)],
            leaseMs,
            onLost: (reason: string) => Effect.sync(() => lost.push(`${run}: ${reason}`))
          }
          return yield* Effect.fork(keeper.keep(claim, Effect.never))
        })
      const heartbeats = (run: string) =>
        Effect.map(log.read({ kinds: ["JobRunHeartbeat"] }), (page) =>
          page.events.flatMap((e) => (e.event._tag === "JobRunHeartbeat" && e.event.jobRunId === run ? [e.event] : []))
        )
      yield* keep("long", "a/n=1", 60_000)
      // The keeper now naps until the long lease is due (20 s); the short claim must not wait for that.
      yield* Effect.sleep("50 millis")
      const short = yield* keep("short", "a/n=2", 600)
      yield* Effect.sleep("1500 millis")
      const beats = yield* heartbeats("short")
      expect(beats.length).toBeGreaterThanOrEqual(2)
      expect(yield* heartbeats("long")).toEqual([])
      // A run that ended is no longer kept.
      yield* Fiber.interrupt(short)
      const ended = (yield* heartbeats("short")).length
      yield* Effect.sleep("500 millis")
      expect((yield* heartbeats("short")).length).toBe(ended)
      expect(lost).toEqual([])
    })
  )

  it.scopedLive("a heartbeat the log refuses tells its run once, and that claim is beaten no more", () =>
    Effect.gen(function* () {
      const log = yield* InMemoryEventLog.make
      const keeper = yield* LeaseKeeper.make(log)
      const lost: Array<string> = []
      const ref = PartitionRef.unsafeMake("a/n=1")
      yield* log.append(yield* claimed("r1", ref, 300))
      yield* Effect.fork(
        keeper.keep(
          {
            buildRequestId: "b1",
            jobRunId: "r1",
            outputs: [ref],
            leaseMs: 300,
            onLost: (reason) => Effect.sync(() => lost.push(reason))
          },
          Effect.never
        )
      )
      // The partition is released behind the run's back (as a takeover after a stall would).
      const now = yield* Clock.currentTimeMillis
      yield* log.append([
        new BuildEvent.PartitionStatusChanged({
          eventId: EventId.unsafeMake(now),
          timestamp: now,
          buildRequestId: "b1",
          partitionRef: ref,
          status: "FAILED",
          jobRunId: "r1",
          message: "released"
        })
      ])
      const released = yield* log.head
      yield* Effect.sleep("600 millis")
      expect(lost).toHaveLength(1)
      expect(lost[0]).toContain("r1 no longer")
      expect((yield* log.read({ kinds: ["JobRunHeartbeat"] }, { after: released })).events).toEqual([])
    })
  )
})
