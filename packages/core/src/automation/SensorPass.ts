/**
 * One pass of a sensor: register what it found, then request the builds that depend on it, each
 * under an id derived from the sensor and the source versions it saw. Registration is conditional
 * on the catalog rows it judged (`Sources.register`), so two daemons never register one version
 * twice; a build request with an id the log has is the same build, so neither is one requested twice.
 */
import { Effect } from "effect"
import { EventLog } from "../log/EventLog.js"
import { type BuildHandle, Builds } from "../scheduler/Builds.js"
import * as Sources from "../source/Sources.js"
import * as Ids from "./Ids.js"

export interface Requested {
  readonly buildRequestId: string
  readonly refs: ReadonlyArray<string>
  readonly handle: BuildHandle
}

export interface PassResult {
  readonly registered: number
  readonly changed: number
  readonly requested: ReadonlyArray<Requested>
}

/** What a build's options say beside its refs: the daemon's lease, so a dead daemon's runs are taken over soon. */
export interface BuildOptions {
  readonly leaseMs?: number | undefined
}

const checksumOf = (source: Sources.Source) => String(source.manifest.checksum ?? "")

/**
 * Registers `sources`, then requests, for each group `builds` gives, its refs under an id derived
 * from the sensor, the refs and the versions of the sources in the group.
 */
export const run = Effect.fn("Sensor.pass")(function* (
  name: string,
  sources: ReadonlyArray<Sources.Source>,
  builds: ReadonlyArray<{ readonly refs: ReadonlyArray<string>; readonly sources: ReadonlyArray<Sources.Source> }>,
  options: BuildOptions = {}
) {
  const log = yield* EventLog
  const scheduler = yield* Builds
  const result = sources.length === 0 ? undefined : yield* Sources.register(log, sources)
  const requested: Array<Requested> = []
  for (const group of builds) {
    if (group.refs.length === 0) continue
    const buildRequestId = Ids.sensorBuild(
      name,
      group.refs,
      group.sources.map((source) => ({ ref: source.ref, checksum: checksumOf(source) }))
    )
    const handle = yield* scheduler.request(group.refs, {
      id: buildRequestId,
      source: "sensor",
      leaseMs: options.leaseMs
    })
    requested.push({ buildRequestId, refs: group.refs, handle })
  }
  return { registered: result?.registered ?? 0, changed: result?.changed ?? 0, requested } satisfies PassResult
})
