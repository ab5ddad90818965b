/**
 * `stream` and `tail` for any store, built on its paged `read`: a store implements `read` and a
 * wake-up, and gets the rest with the guarantees the port promises.
 */
import { Chunk, type Duration, Effect, Option, Stream } from "effect"
import type { LoggedEvent } from "../event/BuildEvent.js"
import type { EventFilter } from "./EventFilter.js"
import type { EventPage, ReadError, ReadOptions } from "./EventLog.js"
import type { Wakeup } from "./Wakeup.js"

export type Read = (filter: EventFilter, options?: ReadOptions) => Effect.Effect<EventPage, ReadError>

const PAGE = 1000

export const stream = (read: Read, filter: EventFilter, after = 0): Stream.Stream<LoggedEvent, ReadError> =>
  Stream.paginateChunkEffect(after, (cursor) =>
    Effect.map(read(filter, { after: cursor, limit: PAGE }), (page) => [
      Chunk.unsafeFromArray(page.events.slice()),
      Option.fromNullable(page.next)
    ])
  )

export interface TailOptions {
  readonly after?: number | undefined
  /**
   * The log's last seq. Read before each page, it lets a tail whose filter matched nothing move its
   * cursor past what it has seen, so a sparse tail does not rescan the log at every append. Stores
   * make events visible in seq order, so every event up to that head was visible to the read.
   */
  readonly head: Effect.Effect<number, ReadError>
  /** Wake-ups from appends this process sees, with the heads they left where known; the poll catches the others. */
  readonly wakeup: Wakeup
  /** How often to look for appends made elsewhere (other processes, other machines). */
  readonly pollInterval: Duration.DurationInput
}

export const tail = (read: Read, filter: EventFilter, options: TailOptions): Stream.Stream<LoggedEvent, ReadError> =>
  Stream.unfoldChunkEffect(options.after ?? 0, (start) =>
    Effect.gen(function* () {
      let cursor = start
      for (;;) {
        const woken = yield* options.wakeup.next
        // A head a wake-up brought (an append of this process, a notification) saves asking the store.
        const known = yield* options.wakeup.knownHead
        const head = known > cursor ? known : yield* options.head
        // Nothing appended past the cursor: no read needed (a wake-up may be for an append already seen).
        // Nor when the wake-ups said what was appended up to the head, and none of it can match.
        if (head > cursor && known >= head && !(yield* options.wakeup.mayMatch(filter, cursor, head))) {
          cursor = head
        } else if (head > cursor) {
          const page = yield* read(filter, { after: cursor, limit: PAGE })
          if (page.events.length > 0) {
            const last = page.events[page.events.length - 1]!.seq
            return Option.some([Chunk.unsafeFromArray(page.events.slice()), last] as const)
          }
          cursor = head
        }
        yield* Effect.timeout(woken, options.pollInterval).pipe(Effect.ignore)
      }
    })
  )
