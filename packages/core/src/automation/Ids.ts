/**
 * Build request ids derived from what a sensor or schedule saw, never drawn at random: a second
 * daemon, or this one after a restart, that sees the same tick or the same file version derives the
 * same id, and the log receives one build per id (BuildRequestReceived is idempotent on it).
 */
import { createHash } from "node:crypto"

/** Prefixes of the ids sensors and schedules request builds under. */
export const SCHEDULE_PREFIX = "schedule-"
export const SENSOR_PREFIX = "sensor-"

/** The build of schedule `name`'s tick at `at` (ms): `schedule-daily-2026-12-01T02:00:00.000Z`. */
export const tickBuild = (name: string, at: number): string => `${SCHEDULE_PREFIX}${name}-${new Date(at).toISOString()}`

/** The tick a schedule's build id names, or undefined for another id. */
export const tickOf = (name: string, buildRequestId: string): number | undefined => {
  const prefix = `${SCHEDULE_PREFIX}${name}-`
  if (!buildRequestId.startsWith(prefix)) return undefined
  const at = Date.parse(buildRequestId.slice(prefix.length))
  return Number.isNaN(at) ? undefined : at
}

/**
 * The build sensor `name` requests for `refs` after seeing the source versions `versions`
 * (ref and checksum pairs): a hash, so the id stays short whatever the refs.
 */
export const sensorBuild = (
  name: string,
  refs: ReadonlyArray<string>,
  versions: ReadonlyArray<{ readonly ref: string; readonly checksum: string }>
): string => {
  const hash = createHash("sha256")
  for (const ref of [...refs].sort()) hash.update(`build\u0000${ref}\u0000`)
  for (const v of [...versions].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0)))
    hash.update(`source\u0000${v.ref}\u0000${v.checksum}\u0000`)
  return `${SENSOR_PREFIX}${name}-${hash.digest("hex").slice(0, 32)}`
}
