/**
 * The view rows as the store keeps them: JSON text in a `data` column, decoded (and checked) once
 * when read, so a damaged file is a typed error naming the row, never a wrong answer.
 */
import { EventLog, Views } from "@tessera/core"
import { Either, Schema } from "effect"

export type Decode<A> = (key: string, data: string) => Either.Either<A, EventLog.StoreError>

const rowOf =
  <A, I>(schema: Schema.Schema<A, I>) =>
  (filename: string, operation: string): Decode<A> => {
    const decode = Schema.decodeUnknownEither(schema)
    return (key, data) => {
      const corrupt = (detail: string) =>
        Either.left(
          new EventLog.StoreError({
            store: "sqlite",
            operation,
            reason: `the stored row ${key} in ${filename} cannot be decoded (${detail}); the file may be damaged or written by a newer Tessera`
          })
        )
      let parsed: unknown
      try {
        parsed = JSON.parse(data)
      } catch (error) {
        return corrupt(String(error))
      }
      const decoded = decode(parsed)
      return Either.isLeft(decoded) ? corrupt(decoded.left.message) : Either.right(decoded.right)
    }
  }

type DecoderOf<A> = (filename: string, operation: string) => Decode<A>

export const partition: DecoderOf<Views.PartitionRow> = rowOf(Views.PartitionRow)
export const jobRun: DecoderOf<Views.JobRunRow> = rowOf(Views.JobRunRow)
export const buildRequest: DecoderOf<Views.BuildRequestRow> = rowOf(Views.BuildRequestRow)

/**
 * A row as stored. The view rows are plain JSON values (`Views` has no transformations), so a
 * row's own fields are its encoding.
 */
export const encode = (row: Views.PartitionRow | Views.JobRunRow | Views.BuildRequestRow): string => JSON.stringify(row)
