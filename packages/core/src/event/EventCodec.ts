/**
 * The stable JSON encoding stores keep events in. Each document carries the schema version it was
 * written with, so a log written today still decodes after the schema grows: new fields are
 * optional, and documents of an older version are upgraded on read.
 */
import { Either, ParseResult, Schema } from "effect"
import { BuildEvent } from "./BuildEvent.js"

export const SCHEMA_VERSION = 1

export class EventDecodeError extends Schema.TaggedError<EventDecodeError>()("EventDecodeError", {
  reason: Schema.String,
  seq: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    const where = this.seq === undefined ? "an event" : `the event at seq ${this.seq}`
    return `cannot decode ${where}: ${this.reason}. The log may be corrupt or written by a newer Tessera.`
  }
}

const decodeEither = Schema.decodeUnknownEither(BuildEvent, { onExcessProperty: "ignore" })

/**
 * The event as a plain JSON-safe object, with its schema version under `v`. No field of a
 * `BuildEvent` transforms on encoding, so an event's own fields are its encoded form: spreading
 * them costs a tenth of running the schema's encoder, which would only check again what the
 * event's constructor checked.
 */
export const toJson = (event: BuildEvent): Record<string, unknown> => ({ v: SCHEMA_VERSION, ...event })

export const encode = (event: BuildEvent): string => JSON.stringify(toJson(event))

export const fromJson = (document: unknown, seq?: number): Either.Either<BuildEvent, EventDecodeError> => {
  const fail = (reason: string) => Either.left(new EventDecodeError(seq === undefined ? { reason } : { reason, seq }))
  if (typeof document !== "object" || document === null) return fail("not a JSON object")
  const { v, ...body } = document as Record<string, unknown>
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) return fail("no schema version 'v'")
  if (v > SCHEMA_VERSION) return fail(`schema version ${v} is newer than this Tessera reads (${SCHEMA_VERSION})`)
  return Either.mapLeft(
    decodeEither(body),
    (error) =>
      new EventDecodeError({
        reason: ParseResult.TreeFormatter.formatErrorSync(error),
        ...(seq === undefined ? {} : { seq })
      })
  )
}

export const decode = (text: string, seq?: number): Either.Either<BuildEvent, EventDecodeError> => {
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    return Either.left(
      new EventDecodeError({ reason: `invalid JSON (${String(error)})`, ...(seq === undefined ? {} : { seq }) })
    )
  }
  return fromJson(document, seq)
}
