/**
 * Run in its own process by the delta bench: reads a table with `readArrow` and prints, as one JSON
 * line, how far the resident set rose above its level after a forced GC (the process's peak RSS, so
 * never negative) and the Arrow table's own buffer bytes.
 */
import { loadSnapshot, readArrow } from "@tessera/store-delta"
import { Effect } from "effect"

const table = process.argv[2]
if (table === undefined || globalThis.gc === undefined) {
  process.stderr.write("usage: node --expose-gc --import tsx bench/src/deltaReadMemory.ts <table>\n")
  process.exit(2)
}
const snapshot = await Effect.runPromise(loadSnapshot(table))
globalThis.gc()
const before = process.memoryUsage().rss
const arrow = await Effect.runPromise(readArrow(snapshot))
const peak = process.resourceUsage().maxRSS * 1024
const arrowBytes = arrow.schema.fields.reduce((sum, field) => sum + (arrow.getChild(field.name)?.byteLength ?? 0), 0)
process.stdout.write(
  `${JSON.stringify({ rows: arrow.numRows, peakRssDelta: Math.max(0, peak - before), arrowBytes })}\n`
)
