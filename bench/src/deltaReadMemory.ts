/**
 * Run in its own process by the delta bench: reads a table with `readArrow` and prints, as one JSON
 * line, how far the resident set rose during the read above its level after a forced GC, and the
 * Arrow table's own buffer bytes. A worker thread samples the process's RSS every 2 ms, so the peak
 * is the read's (the process's lifetime maxRSS would be whichever was higher, the read or loading
 * the modules) and is seen while the main thread is busy decoding.
 */
import { loadSnapshot, readArrow } from "@tessera/store-delta"
import { Effect } from "effect"
import { once } from "node:events"
import { Worker } from "node:worker_threads"

const table = process.argv[2]
if (table === undefined || globalThis.gc === undefined) {
  process.stderr.write("usage: node --expose-gc --import tsx bench/src/deltaReadMemory.ts <table>\n")
  process.exit(2)
}
const sampler = new Worker(
  `const { parentPort } = require("node:worker_threads")
  let peak = 0
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, 2)
  parentPort.on("message", () => { clearInterval(timer); peak = Math.max(peak, process.memoryUsage.rss()); parentPort.postMessage(peak) })`,
  { eval: true }
)
await once(sampler, "online")
const snapshot = await Effect.runPromise(loadSnapshot(table))
globalThis.gc()
const before = process.memoryUsage.rss()
const arrow = await Effect.runPromise(readArrow(snapshot))
sampler.postMessage("stop")
const [peak] = (await once(sampler, "message")) as [number]
await sampler.terminate()
const arrowBytes = arrow.schema.fields.reduce((sum, field) => sum + (arrow.getChild(field.name)?.byteLength ?? 0), 0)
process.stdout.write(
  `${JSON.stringify({ rows: arrow.numRows, peakRssDelta: Math.max(0, peak - before), arrowBytes })}\n`
)
