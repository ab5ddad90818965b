import { BuildEvent, EventCodec } from "@tessera/core"
import type { StructField, StructType } from "../reader/Schema.js"
import type { Row } from "../writer/Columns.js"

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
