/**
 * Progress of one build from its events: on a terminal, a view of its job runs and partitions redrawn
 * in place; elsewhere (pipes, CI logs), one plain line per event.
 */
import { Terminal } from "@effect/platform"
import type { BuildEvent, EventLog } from "@tessera/core"
import { Clock, Console, Effect, Fiber, Schedule, Stream } from "effect"
import * as Format from "./Format.js"

interface PartitionState {
  status: string
  since: number
  message?: string | undefined
}

interface RunState {
  readonly jobRunId: string
  readonly job: string
  readonly outputs: ReadonlyArray<string>
  attempt: number
  status: string
  since: number
  started?: number | undefined
  finished?: number | undefined
  message?: string | undefined
}

/** What the events of one build say so far. */
export class Tracker {
  status = "RECEIVED"
  startedAt: number | undefined
  finishedAt: number | undefined
  readonly partitions = new Map<string, PartitionState>()
  readonly runs = new Map<string, RunState>()

  constructor(readonly buildRequestId: string) {}

  apply(event: BuildEvent.BuildEvent): void {
    this.startedAt ??= event.timestamp
    switch (event._tag) {
      case "BuildRequestStatusChanged":
        this.status = event.status
        if (event.status === "COMPLETED" || event.status === "FAILED" || event.status === "CANCELLED") {
          this.finishedAt = event.timestamp
        }
        return
      case "PartitionStatusChanged":
        this.partitions.set(event.partitionRef, {
          status: event.status,
          since: event.timestamp,
          message: event.message
        })
        return
      case "Delegated":
        // A reused partition gets no status event of this build: the reuse is its last word here.
        if (event.mode === "historical") {
          this.partitions.set(event.partitionRef, { status: "REUSED", since: event.timestamp })
        }
        return
      case "JobRunStatusChanged": {
        const run = this.runs.get(event.jobRunId) ?? {
          jobRunId: event.jobRunId,
          job: event.jobName,
          outputs: event.outputs,
          attempt: event.attempt,
          status: event.status,
          since: event.timestamp
        }
        run.attempt = event.attempt
        run.status = event.status
        run.since = event.timestamp
        run.message = event.message
        if (event.status === "RUNNING") run.started = event.timestamp
        if (event.status !== "SCHEDULED" && event.status !== "RUNNING") run.finished = event.timestamp
        this.runs.set(event.jobRunId, run)
        return
      }
      default:
        return
    }
  }

  /** How long a run has been running (or ran). */
  elapsed(run: RunState, now: number): number {
    const from = run.started ?? run.since
    return (run.finished ?? now) - from
  }

  /** The plain line for an event, or nothing for events that say nothing new to a reader (heartbeats). */
  line(event: BuildEvent.BuildEvent): string | undefined {
    const at = `[+${Format.duration(event.timestamp - (this.startedAt ?? event.timestamp)).padStart(6)}]`
    const why = (message: string | undefined) => (message === undefined ? "" : `: ${message}`)
    switch (event._tag) {
      case "BuildRequestReceived":
        return `${at} build ${event.buildRequestId} received: ${Format.refs(event.requestedRefs)}`
      case "BuildRequestStatusChanged":
        return `${at} build ${event.buildRequestId} ${event.status}${why(event.message)}`
      case "PartitionStatusChanged":
        // A claimed partition moves with its job run, whose line already says so.
        if (event.jobRunId !== undefined && (event.status === "SCHEDULED" || event.status === "BUILDING")) {
          return undefined
        }
        return event.status === "REQUESTED"
          ? undefined
          : `${at} ${event.partitionRef} ${event.status}${why(event.message)}`
      case "JobRunStatusChanged": {
        // A skipped run is a reused partition, which its Delegated line reports.
        if (event.status === "SKIPPED") return undefined
        const run = this.runs.get(event.jobRunId)
        const took =
          run !== undefined && run.finished !== undefined && run.started !== undefined
            ? ` in ${Format.duration(run.finished - run.started)}`
            : ""
        const attempt = event.attempt > 1 ? ` (attempt ${event.attempt})` : ""
        // Scheduler messages usually name the partition already.
        const what = event.message?.startsWith(event.outputs[0] ?? "\u0000")
          ? `: ${event.message}`
          : ` ${Format.refs(event.outputs)}${why(event.message)}`
        return `${at} job ${event.jobName} ${event.status}${attempt}${took}${what}`
      }
      case "Delegated":
        return event.mode === "historical"
          ? `${at} ${event.partitionRef} reused: AVAILABLE and up to date`
          : `${at} ${event.partitionRef} DELEGATED: build ${event.toBuildRequestId} is building it; waiting`
      case "PartitionInvalidated":
        return `${at} ${event.partitionRef} invalidated${why(event.message)}`
      case "SourcePartitionRegistered":
        return `${at} source ${event.partitionRef} registered`
      case "JobRunHeartbeat":
        return undefined
    }
  }

  /** The live view: a header, then job runs, then partitions, fitted to the terminal. */
  frame(now: number, columns: number, rows: number): Array<string> {
    const elapsed = Format.duration((this.finishedAt ?? now) - (this.startedAt ?? now))
    const lines = [`build ${this.buildRequestId}  ${this.status}  ${elapsed}`]
    const budget = Math.max(4, rows - 2)
    const runs = [...this.runs.values()]
    const active = runs.filter((run) => run.status === "SCHEDULED" || run.status === "RUNNING")
    const done = runs.filter((run) => run.status !== "SCHEDULED" && run.status !== "RUNNING").reverse()
    const counts = new Map<string, number>()
    for (const run of runs) counts.set(run.status, (counts.get(run.status) ?? 0) + 1)
    lines.push(`job runs: ${summary(counts) || "none yet"}`)
    const runLines = [...active, ...done].slice(0, Math.ceil(budget / 2)).map((run) => {
      const attempt = run.attempt > 1 ? ` #${run.attempt}` : ""
      return `  ${mark(run.status)} ${run.job.padEnd(12)} ${run.status.padEnd(9)}${attempt} ${Format.duration(
        this.elapsed(run, now)
      ).padStart(6)}  ${Format.refs(run.outputs, 2)}${run.message === undefined ? "" : `  ${run.message}`}`
    })
    lines.push(...runLines)
    const partitions = [...this.partitions.entries()]
    const byStatus = new Map<string, number>()
    for (const [, state] of partitions) byStatus.set(state.status, (byStatus.get(state.status) ?? 0) + 1)
    lines.push(`partitions: ${summary(byStatus) || "none yet"}`)
    const settled = (status: string) => status === "AVAILABLE" || status === "REUSED" || status === "FAILED"
    const ordered = [
      ...partitions.filter(([, state]) => !settled(state.status)),
      ...partitions.filter(([, state]) => settled(state.status)).reverse()
    ]
    const room = Math.max(0, budget - lines.length)
    for (const [ref, state] of ordered.slice(0, room)) {
      const age = settled(state.status) ? "" : ` ${Format.duration(now - state.since)}`
      lines.push(`  ${mark(state.status)} ${state.status.padEnd(9)}${age}  ${ref}`)
    }
    if (ordered.length > room) lines.push(`  … ${ordered.length - room} more`)
    return lines.map((line) => Format.fit(line, columns - 1))
  }
}

const summary = (counts: ReadonlyMap<string, number>): string =>
  [...counts].map(([status, n]) => `${n} ${status}`).join(" · ")

const mark = (status: string): string => {
  switch (status) {
    case "COMPLETED":
    case "AVAILABLE":
      return "✓"
    case "FAILED":
    case "CANCELLED":
      return "✗"
    case "RUNNING":
    case "BUILDING":
      return "▶"
    case "SKIPPED":
    case "DELEGATED":
    case "REUSED":
      return "↷"
    default:
      return "·"
  }
}

type Events = Stream.Stream<BuildEvent.LoggedEvent, EventLog.ReadError>

/** One line per event, as the events come. */
export const lines = (buildRequestId: string, events: Events) => {
  const tracker = new Tracker(buildRequestId)
  return Stream.runForEach(events, ({ event }) => {
    tracker.apply(event)
    const line = tracker.line(event)
    return line === undefined ? Effect.void : Console.log(line)
  })
}

const ESC = "\u001b["

/** The view redrawn in place as events come and as time passes, ending with its final state on screen. */
export const live = (buildRequestId: string, events: Events) =>
  Effect.gen(function* () {
    const terminal = yield* Terminal.Terminal
    const tracker = new Tracker(buildRequestId)
    let drawn = 0
    const redraw = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const columns = (yield* terminal.columns) || 80
      const rows = (yield* terminal.rows) || 24
      const frame = tracker.frame(now, columns, rows)
      const up = drawn > 0 ? `${ESC}${drawn}F` : ""
      drawn = frame.length
      yield* terminal.display(`${up}${ESC}J${frame.join("\n")}\n`).pipe(Effect.orDie)
    })
    yield* terminal.display(`${ESC}?25l`).pipe(Effect.orDie)
    const ticker = yield* Effect.fork(Effect.repeat(redraw, Schedule.spaced("100 millis")))
    yield* Stream.runForEach(events, ({ event }) => Effect.sync(() => tracker.apply(event))).pipe(
      Effect.ensuring(
        Fiber.interrupt(ticker).pipe(
          Effect.zipRight(redraw),
          Effect.ensuring(terminal.display(`${ESC}?25h`).pipe(Effect.ignore))
        )
      )
    )
  })
