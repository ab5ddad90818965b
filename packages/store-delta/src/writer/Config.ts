import type { Metadata } from "../reader/Actions.js"

const unitMs: Readonly<Record<string, number>> = {
  millisecond: 1,
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000
}

/** Parses Delta's `interval <n> <unit>` durations; `undefined` when the text is not one. */
export const parseInterval = (text: string): number | undefined => {
  const match = /^\s*interval\s+(\d+)\s+([a-z]+?)s?\s*$/i.exec(text)
  if (match === null) return undefined
  const unit = unitMs[match[2]!.toLowerCase()]
  return unit === undefined ? undefined : Number(match[1]) * unit
}

const setting = (metadata: Metadata, key: string) => metadata.configuration?.[key]

/** `delta.deletedFileRetentionDuration`, default one week: how long tombstones (and removed files) are kept. */
export const deletedFileRetentionMs = (metadata: Metadata): number =>
  parseInterval(setting(metadata, "delta.deletedFileRetentionDuration") ?? "") ?? unitMs.week!

/** `delta.checkpointInterval` when set, else the writer's default. */
export const checkpointInterval = (metadata: Metadata, fallback: number): number => {
  const configured = Number(setting(metadata, "delta.checkpointInterval"))
  return Number.isInteger(configured) && configured > 0 ? configured : fallback
}
