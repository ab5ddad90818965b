import { Command, Options, ValidationError } from "@effect/cli"
import { type BuildEvent, EventCodec, EventFilter, EventLog, Status } from "@tessera/core"
import { Chunk, Console, Effect, Option, Stream } from "effect"
import * as Format from "../render/Format.js"
import * as Positional from "./Positional.js"
import { shared, withLog } from "./Root.js"

/** One event as a line of text: seq, time, build, kind and what it says. */
export const describe = ({ seq, event }: BuildEvent.LoggedEvent): string => {
  const head = `${String(seq).padStart(6)}  ${Format.instant(event.timestamp)}  ${event.buildRequestId}  ${event._tag}`
  const why = (message: string | undefined) => (message === undefined ? "" : `: ${message}`)
  switch (event._tag) {
    case "BuildRequestReceived":
      return `${head} ${Format.refs(event.requestedRefs)} from ${event.source}`
    case "BuildRequestStatusChanged":
      return `${head} ${event.status}${why(event.message)}`
    case "PartitionStatusChanged":
      return `${head} ${event.partitionRef} ${event.status}${event.jobRunId === undefined ? "" : ` by ${event.jobRunId}`}${why(event.message)}`
    case "JobRunStatusChanged":
      return `${head} ${event.jobName} ${event.jobRunId} #${event.attempt} ${event.status} ${Format.refs(event.outputs)}${why(event.message)}`
    case "JobRunHeartbeat":
      return `${head} ${event.jobRunId} lease until ${Format.instant(event.leaseExpiresAt)}`
    case "Delegated":
      return `${head} ${event.partitionRef} to ${event.toBuildRequestId} (${event.mode})`
    case "PartitionInvalidated":
      return `${head} ${event.partitionRef} ${event.reason}${why(event.message)}`
    case "SourcePartitionRegistered":
      return `${head} ${event.partitionRef} ${JSON.stringify(event.manifest)}`
  }
}

const asJson = ({ seq, event }: BuildEvent.LoggedEvent) => ({ seq, ...EventCodec.toJson(event) })

export const events = Command.make(
  "events",
  {
    build: Options.text("build").pipe(Options.withDescription("Only this build's events"), Options.optional),
    ref: Options.text("ref").pipe(
      Options.mapEffect((value) => Effect.mapError(Positional.refValue(value), ValidationError.invalidValue)),
      Options.withDescription("Only events about this partition, or about partitions under it (ref/...)"),
      Options.optional
    ),
    follow: Options.boolean("follow").pipe(
      Options.withAlias("f"),
      Options.withDescription(
        "Keep printing events as they are appended (until Ctrl-C; with --build, until the build finishes)"
      )
    ),
    ...shared
  },
  (options) =>
    withLog(options, () =>
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const filter: EventFilter.EventFilter = {
          ...Option.match(options.build, { onNone: () => ({}), onSome: (id) => ({ buildRequestIds: [id] }) }),
          ...Option.match(options.ref, { onNone: () => ({}), onSome: EventFilter.aboutRef })
        }
        if (!options.follow) {
          const all = Chunk.toReadonlyArray(yield* Stream.runCollect(log.stream(filter)))
          return yield* Console.log(
            options.json ? JSON.stringify(all.map(asJson), null, 2) : all.map(describe).join("\n")
          )
        }
        const ended = (entry: BuildEvent.LoggedEvent) =>
          Option.isSome(options.build) &&
          entry.event._tag === "BuildRequestStatusChanged" &&
          Status.isTerminalBuildStatus(entry.event.status)
        yield* log.tail(filter).pipe(
          Stream.takeUntil(ended),
          Stream.runForEach((entry) => Console.log(options.json ? JSON.stringify(asJson(entry)) : describe(entry)))
        )
      })
    )
).pipe(Command.withDescription("Print the build event log, or follow it live"))
