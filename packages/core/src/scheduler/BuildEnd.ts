/**
 * Recording the end of a build whose runs the queue says have all finished. The worker that
 * finishes the last run does it; a resumed build does it when that worker died first.
 */
import { Clock, Effect } from "effect"
import * as BuildEvent from "../event/BuildEvent.js"
import * as EventId from "../event/EventId.js"
import type { EventLogShape, StoreError } from "../log/EventLog.js"
import type { AppendConflict } from "../projection/Errors.js"
import type { Finished } from "./JobQueue.js"

export const record = (
  log: EventLogShape,
  buildRequestId: string,
  failures: Finished["failures"]
): Effect.Effect<void, StoreError | AppendConflict> =>
  Effect.gen(function* () {
    const timestamp = yield* Clock.currentTimeMillis
    const message =
      failures.length === 0
        ? undefined
        : failures
            .slice(0, 10)
            .map((failure) => `${failure.ref}: ${failure.reason}`)
            .join("; ")
    const event = new BuildEvent.BuildRequestStatusChanged({
      eventId: EventId.unsafeMake(timestamp),
      timestamp,
      buildRequestId,
      status: failures.length === 0 ? "COMPLETED" : "FAILED",
      ...(message === undefined ? {} : { message })
    })
    // A build cancelled or ended meanwhile keeps that end: the log refuses a second terminal status.
    yield* log.append([event]).pipe(Effect.catchTag("InvalidTransition", () => Effect.void))
  })
