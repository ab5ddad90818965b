import { Schema } from "effect"
import { BuildEvent } from "../event/BuildEvent.js"
import { Expectation } from "./Expectation.js"
import { JobRunRow, PartitionRow } from "./Views.js"

/** An append would make the log say something impossible; nothing was written. */
export class InvalidTransition extends Schema.TaggedError<InvalidTransition>()("InvalidTransition", {
  event: BuildEvent,
  reason: Schema.String
}) {
  override get message(): string {
    return `refused ${this.event._tag} (event ${this.event.eventId}, build ${this.event.buildRequestId}): ${this.reason}`
  }
}

/** A condition of a conditional append did not hold; nothing was written. The current rows say why. */
export class AppendConflict extends Schema.TaggedError<AppendConflict>()("AppendConflict", {
  expectation: Expectation,
  reason: Schema.String,
  partition: Schema.optional(PartitionRow),
  jobRun: Schema.optional(JobRunRow)
}) {
  override get message(): string {
    return `append refused: ${this.reason}`
  }
}
