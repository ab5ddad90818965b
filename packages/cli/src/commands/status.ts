import { Args, Command, Options } from "@effect/cli"
import { BuildErrors, EventLog, Freshness, Queries, type Views } from "@tessera/core"
import { Console, Effect, Option } from "effect"
import * as Format from "../render/Format.js"
import { table } from "../render/Table.js"
import * as Positional from "./Positional.js"
import { shared, withLog } from "./Root.js"

const partitionTable = (rows: ReadonlyArray<Views.PartitionRow>) =>
  table(
    ["PARTITION", "STATUS", "UPDATED", "BUILD", "MESSAGE"],
    rows.map((row) => [row.ref, row.status, Format.instant(row.updatedAt), row.buildRequestId ?? "", row.message ?? ""])
  )

/**
 * Why an AVAILABLE partition is stale by its inputs (one was rebuilt after it), as a dry run would
 * judge it; undefined when none was. A changed job version needs the graph: the dry run shows it.
 */
const staleness = (row: Views.PartitionRow) =>
  Effect.gen(function* () {
    if (row.status !== "AVAILABLE" || row.jobRunId === undefined) return undefined
    const log = yield* EventLog.EventLog
    const run = (yield* log.jobRuns({ jobRunIds: [row.jobRunId] })).items[0]
    if (run === undefined || run.inputs.length === 0) return undefined
    const inputs = (yield* log.partitions({ refs: run.inputs, limit: run.inputs.length })).items
    const rebuilt = Freshness.rebuiltInput(row, run.inputs, new Map(inputs.map((input) => [input.ref, input])))
    return rebuilt === undefined ? undefined : `input ${rebuilt} was rebuilt after it`
  })

const catalog = (prefix: Option.Option<string>, asJson: boolean) =>
  Effect.gen(function* () {
    const log = yield* EventLog.EventLog
    const rows = yield* Queries.allPages((after) =>
      log.partitions({ ...Option.match(prefix, { onNone: () => ({}), onSome: (p) => ({ prefix: p }) }), after })
    )
    // A prefix that names exactly one partition shows that partition, and whether it is stale.
    const exact = rows.length === 1 && Option.contains(prefix, rows[0]!.ref) ? rows[0] : undefined
    const stale = exact === undefined ? undefined : yield* staleness(exact)
    if (asJson) {
      const staleJson = exact === undefined || stale === undefined ? {} : { stale: { [exact.ref]: stale } }
      return yield* Console.log(JSON.stringify({ partitions: rows, ...staleJson }, null, 2))
    }
    if (rows.length === 0) {
      return yield* Console.log(
        Option.match(prefix, {
          onNone: () => "The catalog is empty: nothing was built or registered in this store yet.",
          onSome: (p) => `No partition in the catalog starts with ${p}.`
        })
      )
    }
    if (exact !== undefined) {
      const lines = [
        `${exact.ref}  ${exact.status}${stale === undefined ? "" : `, stale: ${stale}`}`,
        `  updated      ${Format.instant(exact.updatedAt)} (seq ${exact.updatedSeq})`,
        ...(exact.jobRunId === undefined
          ? []
          : [`  job run      ${exact.jobRunId} (job version ${exact.jobVersion ?? "?"})`]),
        ...(exact.buildRequestId === undefined ? [] : [`  build        ${exact.buildRequestId}`]),
        ...(exact.leaseExpiresAt === undefined ? [] : [`  lease until  ${Format.instant(exact.leaseExpiresAt)}`]),
        ...(exact.message === undefined ? [] : [`  message      ${exact.message}`]),
        ...(exact.manifest === undefined ? [] : [`  manifest     ${JSON.stringify(exact.manifest)}`])
      ]
      return yield* Console.log(lines.join("\n"))
    }
    const counts = new Map<string, number>()
    for (const row of rows) counts.set(row.status, (counts.get(row.status) ?? 0) + 1)
    const summary = [...counts].map(([status, n]) => `${n} ${status}`).join(", ")
    yield* Console.log([...partitionTable(rows), "", `${rows.length} partition(s): ${summary}`].join("\n"))
  })

const build = (id: string, asJson: boolean) =>
  Effect.gen(function* () {
    const log = yield* EventLog.EventLog
    const row = (yield* log.buildRequests({ buildRequestIds: [id] })).items[0]
    if (row === undefined) return yield* new BuildErrors.UnknownBuild({ buildRequestId: id })
    const runs = yield* Queries.allPages((after) => log.jobRuns({ buildRequestIds: [id], after }))
    const requested = yield* log.partitions({ refs: row.requestedRefs })
    if (asJson) {
      return yield* Console.log(JSON.stringify({ build: row, jobRuns: runs, partitions: requested.items }, null, 2))
    }
    const lines = [
      `build ${row.buildRequestId}  ${row.status}${row.message === undefined ? "" : `: ${row.message}`}`,
      `  received  ${Format.instant(row.receivedAt)} from ${row.source}, updated ${Format.instant(row.updatedAt)}`,
      `  options   ${JSON.stringify(row.options)}`,
      "",
      ...partitionTable(requested.items),
      ""
    ]
    if (runs.length === 0) lines.push("No job runs.")
    else {
      lines.push(
        ...table(
          ["JOB RUN", "JOB", "ATTEMPT", "STATUS", "TOOK", "OUTPUTS", "MESSAGE"],
          runs.map((run) => [
            run.jobRunId,
            run.jobName,
            String(run.attempt),
            run.status,
            Format.duration(run.updatedAt - run.createdAt),
            Format.refs(run.outputs, 2),
            run.message ?? ""
          ])
        )
      )
    }
    yield* Console.log(lines.join("\n"))
  })

export const status = Command.make(
  "status",
  {
    prefix: Positional.text("ref|prefix").pipe(
      Args.withDescription("A partition ref (shows its details) or a ref prefix such as sales/ (lists them)"),
      Args.optional
    ),
    build: Options.text("build").pipe(
      Options.withDescription("Show one build: its status, requested partitions and job runs"),
      Options.optional
    ),
    ...shared
  },
  (options) =>
    withLog(options, () =>
      Option.match(options.build, {
        onNone: () => catalog(options.prefix, options.json),
        onSome: (id) => build(id, options.json)
      })
    )
).pipe(Command.withDescription("Show the partition catalog, or one build with --build"))
