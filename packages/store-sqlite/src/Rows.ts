/**
 * The view rows as the store keeps them: JSON text in a `data` column, decoded (and checked) once
 * when read, so a damaged file is a typed error naming the row, never a wrong answer.
 */
import { EventLog, Views } from "@tessera/core"
import { Either, Schema } from "effect"

export type Decode<A> = (key: string, data: string) => Either.Either<A, EventLog.StoreError>

/**
 * Rows decoded before, by key, with the text they came from: a row read again unchanged (each
 * append reads back the rows the one before it wrote) is not parsed and checked again. A hit
 * needs the very same text, so a row another process rewrote is decoded afresh, and a row this
 * process wrote in a transaction that then failed is never served: the file's text differs.
 * Rows are immutable values (the reducer makes new ones), so one may be shared by every reader.
 */
export class Memo<A> {
  private readonly entries = new Map<string, { readonly data: string; readonly row: A }>()

  constructor(private readonly capacity: number) {}

  get(key: string, data: string): A | undefined {
    const entry = this.entries.get(key)
    return entry !== undefined && entry.data === data ? entry.row : undefined
  }

  set(key: string, data: string, row: A): void {
    // Forgotten all at once when full, as the statement cache is: evicting the oldest entry one at
    // a time cost every miss (a scan of random rows, say) more than the decode it might save.
    if (this.entries.size >= this.capacity) this.entries.clear()
    this.entries.set(key, { data, row })
  }
}

/** The decoded rows of one log, shared by its appends and its reads. */
export interface Memos {
  readonly partitions: Memo<Views.PartitionRow>
  readonly jobRuns: Memo<Views.JobRunRow>
  readonly buildRequests: Memo<Views.BuildRequestRow>
}

/** Rows kept decoded per view: the rows of the runs a busy process has in flight, several times over. */
const MEMO_CAPACITY = 8192

export const memos = (): Memos => ({
  partitions: new Memo(MEMO_CAPACITY),
  jobRuns: new Memo(MEMO_CAPACITY),
  buildRequests: new Memo(MEMO_CAPACITY)
})

const rowOf =
  <A, I>(schema: Schema.Schema<A, I>) =>
  (filename: string, operation: string, memo: Memo<A>): Decode<A> => {
    const decode = Schema.decodeUnknownEither(schema)
    return (key, data) => {
      const known = memo.get(key, data)
      if (known !== undefined) return Either.right(known)
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
      if (Either.isLeft(decoded)) return corrupt(decoded.left.message)
      memo.set(key, data, decoded.right)
      return Either.right(decoded.right)
    }
  }

type DecoderOf<A> = (filename: string, operation: string, memo: Memo<A>) => Decode<A>

export const partition: DecoderOf<Views.PartitionRow> = rowOf(Views.PartitionRow)
export const jobRun: DecoderOf<Views.JobRunRow> = rowOf(Views.JobRunRow)
export const buildRequest: DecoderOf<Views.BuildRequestRow> = rowOf(Views.BuildRequestRow)
