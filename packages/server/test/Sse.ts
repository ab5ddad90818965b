/**
 * A server-sent event client for tests, reading the stream as a browser's EventSource would: frames
 * split on a blank line, `id:`, `event:` and `data:` fields, comments ignored.
 */
import { Effect } from "effect"

export interface Frame {
  readonly id: number
  readonly event: string
  readonly data: unknown
}

const parse = (block: string): Frame | undefined => {
  const fields = new Map<string, string>()
  for (const line of block.split("\n")) {
    if (line.startsWith(":") || line === "") continue
    const colon = line.indexOf(":")
    fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart())
  }
  const id = fields.get("id")
  if (id === undefined) return undefined
  return { id: Number(id), event: fields.get("event") ?? "message", data: JSON.parse(fields.get("data") ?? "null") }
}

/**
 * Connects to `url` (with `Last-Event-ID` when given) and reads frames until `enough` says so or the
 * server ends the stream; then the connection is dropped, as a network cut would.
 */
export const read = (
  url: string,
  options: { readonly lastEventId?: number | undefined; readonly enough: (frames: ReadonlyArray<Frame>) => boolean }
): Effect.Effect<ReadonlyArray<Frame>> =>
  Effect.promise(async () => {
    const abort = new AbortController()
    const response = await fetch(url, {
      headers: options.lastEventId === undefined ? {} : { "last-event-id": String(options.lastEventId) },
      signal: abort.signal
    })
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    const frames: Array<Frame> = []
    let buffer = ""
    while (!options.enough(frames)) {
      const { done, value } = await reader.read()
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      let end = buffer.indexOf("\n\n")
      while (end >= 0) {
        const frame = parse(buffer.slice(0, end))
        if (frame !== undefined) frames.push(frame)
        buffer = buffer.slice(end + 2)
        end = buffer.indexOf("\n\n")
      }
    }
    abort.abort()
    return frames
  })
