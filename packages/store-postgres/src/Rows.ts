/**
 * The view rows as the store keeps them (JSON in a `data` column), and their decoding, which names
 * the table when a row was changed outside Tessera.
 */
import { EventLog, Views } from "@tessera/core"
import { Effect, Either, ParseResult, Schema } from "effect"
import { STORE } from "./SqlErrors.js"

export const PartitionJson: Schema.Schema<Views.PartitionRow, string> = Schema.parseJson(Views.PartitionRow)
export const JobRunJson: Schema.Schema<Views.JobRunRow, string> = Schema.parseJson(Views.JobRunRow)
export const BuildRequestJson: Schema.Schema<Views.BuildRequestRow, string> = Schema.parseJson(Views.BuildRequestRow)

const decodeRows =
  <A, I>(schema: Schema.Schema<A, I>, table: string) =>
  (rows: ReadonlyArray<{ readonly data: string }>): Effect.Effect<Array<A>, EventLog.StoreError> => {
    const decode = Schema.decodeUnknownEither(schema)
    const out: Array<A> = []
    for (const row of rows) {
      const decoded = decode(row.data)
      if (Either.isLeft(decoded)) {
        return Effect.fail(
          new EventLog.StoreError({
            store: STORE,
            operation: `read ${table}`,
            reason:
              `a row of ${table} does not decode (${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}); ` +
              `it was changed outside Tessera or written by a newer version`
          })
        )
      }
      out.push(decoded.right)
    }
    return Effect.succeed(out)
  }
type Decode<A> = (rows: ReadonlyArray<{ readonly data: string }>) => Effect.Effect<Array<A>, EventLog.StoreError>
export const decodePartitions: Decode<Views.PartitionRow> = decodeRows(PartitionJson, "partitions")
export const decodeJobRuns: Decode<Views.JobRunRow> = decodeRows(JobRunJson, "job_runs")
export const decodeBuildRequests: Decode<Views.BuildRequestRow> = decodeRows(BuildRequestJson, "build_requests")
