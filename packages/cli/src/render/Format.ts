/**
 * Small text formats shared by the commands' output.
 */

/** "850ms", "4.2s", "3m05s", "2h07m". */
export const duration = (ms: number): string => {
  const value = Math.max(0, ms)
  if (value < 1000) return `${Math.round(value)}ms`
  if (value < 60_000) return `${(value / 1000).toFixed(1)}s`
  const seconds = Math.floor(value / 1000)
  if (value < 3_600_000) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}m`
}

/** A timestamp as an ISO 8601 UTC instant to the second, the same on every machine that reads the log. */
export const instant = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

/** A list of refs cut to `max` entries, saying how many were left out. */
export const refs = (list: ReadonlyArray<string>, max = 3): string =>
  list.slice(0, max).join(", ") + (list.length > max ? ` (+${list.length - max} more)` : "")

/** Cuts `text` to `width` columns, marking the cut. */
export const fit = (text: string, width: number): string =>
  width <= 1 || text.length <= width ? text : `${text.slice(0, width - 1)}…`
