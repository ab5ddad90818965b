// Preloaded with --import into a measured process: at exit it writes its peak RSS (bytes) to the file
// PEAK_RSS_FILE names. `exit` fires on process.exit too, which is how the tessera CLI ends.
import { writeFileSync } from "node:fs"

process.on("exit", () => {
  if (process.env.PEAK_RSS_FILE) writeFileSync(process.env.PEAK_RSS_FILE, String(process.resourceUsage().maxRSS * 1024))
})
