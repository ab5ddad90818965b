/**
 * A child process for the multi-process tests. Modes:
 * - rows <table> <worker> <count>: `count` appends of one row each through the plain writer;
 * - events <table> <worker> <count> <claims>: `count` single-event appends, then a claim attempt on
 *   each of `claims` shared partitions through the event log; prints the claims it won as JSON;
 * - crash <table>: writes a data file, then kills itself before committing.
 */
import { BuildEvent, EventId, EventLog, Expectation, PartitionRef } from "@tessera/core"
import { Effect, Either } from "effect"
import { append, DeltaEventLog, loadSnapshot, writeDataFiles } from "../../src/index.js"
import { sampleRow } from "../helpers.js"

const [mode, table, workerArg, countArg, claimsArg] = process.argv.slice(2)
const worker = Number(workerArg)
const count = Number(countArg)

const stamp = () => {
  const timestamp = Date.now()
  return { eventId: EventId.unsafeMake(timestamp), timestamp }
}

const rows = Effect.gen(function* () {
  for (let i = 0; i < count; i++) yield* append(table!, [sampleRow(worker * 100_000 + i)])
})

const events = Effect.gen(function* () {
  const log = yield* EventLog.EventLog
  const build = `b${worker}`
  yield* log.append([
    new BuildEvent.BuildRequestReceived({
      ...stamp(),
      buildRequestId: build,
      requestedRefs: [],
      source: "api",
      options: {}
    })
  ])
  for (let i = 0; i < count; i++) {
    yield* log.append([
      new BuildEvent.SourcePartitionRegistered({
        ...stamp(),
        buildRequestId: build,
        partitionRef: PartitionRef.unsafeMake(`src/w=${worker}/n=${i}`),
        manifest: { n: i }
      })
    ])
  }
  const won: Array<number> = []
  for (let k = 0; k < Number(claimsArg); k++) {
    const run = `r-${worker}-${k}`
    const ref = PartitionRef.unsafeMake(`out/p=${k}`)
    const attempt = yield* Effect.either(
      log.append(
        [
          new BuildEvent.JobRunStatusChanged({
            ...stamp(),
            buildRequestId: build,
            jobRunId: run,
            jobName: "job",
            jobVersion: "1",
            outputs: [ref],
            inputs: [],
            attempt: 1,
            status: "SCHEDULED",
            leaseExpiresAt: Date.now() + 3_600_000
          }),
          new BuildEvent.PartitionStatusChanged({
            ...stamp(),
            buildRequestId: build,
            partitionRef: ref,
            status: "SCHEDULED",
            jobRunId: run
          })
        ],
        { expect: [new Expectation.Claimable({ ref, except: run })] }
      )
    )
    if (Either.isRight(attempt)) won.push(k)
    else if (attempt.left._tag !== "AppendConflict") return yield* attempt.left
  }
  process.stdout.write(`${JSON.stringify({ worker, won })}\n`)
}).pipe(Effect.provide(DeltaEventLog.layer({ path: table!, checkpointInterval: 10 })))

const crash = Effect.gen(function* () {
  const snapshot = yield* loadSnapshot(table!)
  yield* writeDataFiles(snapshot, [sampleRow(999_999)])
  process.kill(process.pid, "SIGKILL")
})

const program: Effect.Effect<unknown, unknown> = mode === "rows" ? rows : mode === "events" ? events : crash
Effect.runPromise(program).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
