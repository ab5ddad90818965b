import { BuildEvent, EventCodec } from "@tessera/core"
import type { StructField, StructType } from "../reader/Schema.js"
import type { ColumnBatch, Row } from "../writer/Columns.js"

const field = (name: string, type: string, nullable: boolean): StructField => ({ name, type, nullable, metadata: {} })

/**
 * The event table: one row per event, the event itself in `payload` (core's JSON codec), when the
 * store appended it in `appendedAt` (the appending process's clock), partitioned by day.
 */
export const eventSchema: StructType = {
  type: "struct",
  fields: [
    field("seq", "long", false),
    field("eventId", "string", false),
    field("timestamp", "timestamp", false),
    field("buildRequestId", "string", false),
    field("kind", "string", false),
    field("partitionRef", "string", true),
    field("jobRunId", "string", true),
    field("payload", "string", false),
    field("appendedAt", "timestamp", false),
    field("date", "string", false)
  ]
}

/**
 * The table as store-delta 0.1 created it, without `appendedAt`. Such tables are kept as they are
 * (a schema change would be a write on open); their events read as appended at their timestamp.
 */
export const eventSchemaWithoutAppendedAt: StructType = {
  type: "struct",
  fields: eventSchema.fields.filter((f) => f.name !== "appendedAt")
}

const eventSchemaString = JSON.stringify(eventSchema)

/** The schema a table with this `schemaString` is appended with: the current one, or 0.1's. */
export const schemaOf = (schemaString: string | undefined): StructType =>
  schemaString === eventSchemaString ? eventSchema : eventSchemaWithoutAppendedAt

export const eventPartitionColumns = ["date"]

/** The columns add stats cover, so readers can skip files by seq, time, partition or build. */
export const eventStatsColumns = ["seq", "timestamp", "partitionRef", "buildRequestId"]

/** An event's row, for writers of event tables other than the store (the CLI's archive). */
export const toRow = (logged: BuildEvent.LoggedEvent): Row => {
  const { event } = logged
  const at = new Date(event.timestamp)
  return {
    seq: BigInt(logged.seq),
    eventId: event.eventId,
    timestamp: at,
    buildRequestId: event.buildRequestId,
    kind: event._tag,
    partitionRef: BuildEvent.partitionRefOf(event) ?? null,
    jobRunId: BuildEvent.jobRunIdOf(event) ?? null,
    payload: EventCodec.encode(event),
    appendedAt: new Date(logged.appendedAt),
    date: at.toISOString().slice(0, 10)
  }
}

const dayMs = 86_400_000

/**
 * The event table's columns for a group commit's events: seq and the timestamps as typed arrays (in
 * microseconds, Parquet's unit), so the encoder takes them as they are, and no row object per event.
 * The same values `toRow` gives, with `date` formatted once per day rather than once per event.
 */
export const toColumns = (logged: ReadonlyArray<BuildEvent.LoggedEvent>): ColumnBatch => {
  const n = logged.length
  const seq = new BigInt64Array(n)
  const timestamp = new BigInt64Array(n)
  const appendedAt = new BigInt64Array(n)
  const eventId = new Array<string>(n)
  const buildRequestId = new Array<string>(n)
  const kind = new Array<string>(n)
  const partitionRef = new Array<string | null>(n)
  const jobRunId = new Array<string | null>(n)
  const payload = new Array<string>(n)
  const date = new Array<string>(n)
  let day = Number.NaN
  let dayText = ""
  for (let i = 0; i < n; i++) {
    const { event } = logged[i]!
    seq[i] = BigInt(logged[i]!.seq)
    timestamp[i] = BigInt(event.timestamp) * 1000n
    appendedAt[i] = BigInt(Math.trunc(logged[i]!.appendedAt)) * 1000n
    eventId[i] = event.eventId
    buildRequestId[i] = event.buildRequestId
    kind[i] = event._tag
    partitionRef[i] = BuildEvent.partitionRefOf(event) ?? null
    jobRunId[i] = BuildEvent.jobRunIdOf(event) ?? null
    payload[i] = EventCodec.encode(event)
    const eventDay = Math.floor(event.timestamp / dayMs)
    if (eventDay !== day) {
      day = eventDay
      dayText = new Date(day * dayMs).toISOString().slice(0, 10)
    }
    date[i] = dayText
  }
  return {
    columns: { seq, eventId, timestamp, buildRequestId, kind, partitionRef, jobRunId, payload, appendedAt, date }
  }
}
