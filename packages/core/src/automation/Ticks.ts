/**
 * Which of a schedule's ticks fired: read back from the build requests view by the ids the ticks
 * decide, so it is the same on every store and after every restart.
 */
import { Effect } from "effect"
import type { EventLogShape } from "../log/EventLog.js"
import * as Queries from "../log/Queries.js"
import type { BuildRequestRow } from "../projection/Views.js"
import * as Ids from "./Ids.js"
import type * as Schedule from "./Schedule.js"

/** The ticks among `ticks` the log has a build for, newest first, with their build. */
export const fired = (log: EventLogShape, schedule: Schedule.CronSchedule, ticks: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const out: Array<{ readonly at: number; readonly row: BuildRequestRow }> = []
    for (const chunk of Queries.chunksOf(ticks.map((at) => Ids.tickBuild(schedule.name, at)))) {
      for (const row of (yield* log.buildRequests({ buildRequestIds: chunk, limit: chunk.length })).items) {
        const at = Ids.tickOf(schedule.name, row.buildRequestId)
        if (at !== undefined) out.push({ at, row })
      }
    }
    return out.sort((a, b) => b.at - a.at)
  })
