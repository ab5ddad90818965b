/**
 * A graph is a set of jobs. Each partition ref is produced by at most one job; a ref no job
 * produces is a source partition, made AVAILABLE from outside (e.g. a file-arrival sensor).
 */
import { Either, Option, Schema } from "effect"
import type { CronSchedule } from "../automation/Schedule.js"
import type { Sensor } from "../automation/Sensor.js"
import { InvalidAutomation } from "../automation/Name.js"
import { type Job, produces } from "../job/Job.js"

export class AmbiguousJob extends Schema.TaggedError<AmbiguousJob>()("AmbiguousJob", {
  ref: Schema.String,
  jobs: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `partition ${this.ref} matches the outputs of several jobs (${this.jobs.join(", ")}); each partition must have one producer`
  }
}

export class DuplicateJobName extends Schema.TaggedError<DuplicateJobName>()("DuplicateJobName", {
  name: Schema.String
}) {
  override get message(): string {
    return `two jobs are named ${JSON.stringify(this.name)}; job names must be unique in a graph`
  }
}

export interface Graph {
  readonly jobs: ReadonlyArray<Job>
  /** The job that produces `ref`: none for a source partition, an error when several jobs match. */
  readonly lookup: (ref: string) => Either.Either<Option.Option<Job>, AmbiguousJob>
  readonly job: (name: string) => Option.Option<Job>
  /** What notices new input and registers it (`Sensor.files`, `Sensor.make`); run by `tessera daemon` and `serve`. */
  readonly sensors: ReadonlyArray<Sensor>
  /** What requests builds on a timetable (`Schedule.cron`). */
  readonly schedules: ReadonlyArray<CronSchedule>
}

export interface Automations {
  readonly sensors?: ReadonlyArray<Sensor> | undefined
  readonly schedules?: ReadonlyArray<CronSchedule> | undefined
}

export const TypeId: unique symbol = Symbol.for("@tessera/core/Graph")

/**
 * Builds a graph, with the sensors and schedules that run it every day; throws `DuplicateJobName`
 * for a graph definition that reuses a job name, `InvalidAutomation` for one that reuses a sensor or
 * schedule name (they share one namespace: the state table keys them by name).
 */
export const make = (jobs: ReadonlyArray<Job>, automations: Automations = {}): Graph => {
  const byName = new Map<string, Job>()
  for (const job of jobs) {
    if (byName.has(job.name)) throw new DuplicateJobName({ name: job.name })
    byName.set(job.name, job)
  }
  const sensors = automations.sensors ?? []
  const schedules = automations.schedules ?? []
  const names = new Set<string>()
  for (const { name } of [...sensors, ...schedules]) {
    if (names.has(name)) throw new InvalidAutomation({ name, reason: "two sensors or schedules have this name" })
    names.add(name)
  }
  return {
    [TypeId]: TypeId,
    jobs,
    lookup: (ref) => {
      const matching = jobs.filter((job) => produces(job, ref))
      if (matching.length > 1) return Either.left(new AmbiguousJob({ ref, jobs: matching.map((job) => job.name) }))
      return Either.right(Option.fromNullable(matching[0]))
    },
    job: (name) => Option.fromNullable(byName.get(name)),
    sensors,
    schedules
  } as Graph
}

export const isGraph = (value: unknown): value is Graph =>
  typeof value === "object" && value !== null && TypeId in value
