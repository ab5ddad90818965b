import { Option } from "effect"

/** The parsed `stats` of an add action. Bounds stay as JSON values; `parseStatsValue` types them. */
export interface FileStats {
  readonly numRecords: number
  readonly minValues: { readonly [column: string]: unknown }
  readonly maxValues: { readonly [column: string]: unknown }
  readonly nullCount: { readonly [column: string]: unknown }
  readonly tightBounds: Option.Option<boolean>
}

const record = (value: unknown): { readonly [key: string]: unknown } =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}

/** Stats only speed reads up, so stats that are missing or malformed are treated as absent, never as an error. */
export const parseStats = (stats: string | undefined): Option.Option<FileStats> => {
  if (stats === undefined || stats === "") return Option.none()
  let json: unknown
  try {
    json = JSON.parse(stats)
  } catch {
    return Option.none()
  }
  const fields = record(json)
  const numRecords = fields.numRecords
  if (typeof numRecords !== "number") return Option.none()
  return Option.some({
    numRecords,
    minValues: record(fields.minValues),
    maxValues: record(fields.maxValues),
    nullCount: record(fields.nullCount),
    tightBounds: typeof fields.tightBounds === "boolean" ? Option.some(fields.tightBounds) : Option.none()
  })
}
