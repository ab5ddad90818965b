/**
 * Event ids are ULIDs: 26 Crockford base32 characters, sortable by creation time, monotonic within
 * one process even inside one millisecond.
 */
import { type Brand, Effect, Schema } from "effect"
import { randomFillSync } from "node:crypto"

export type EventId = string & Brand.Brand<"EventId">

export const EventId = Schema.String.pipe(
  Schema.pattern(/^[0-9A-HJKMNP-TV-Z]{26}$/),
  Schema.brand("EventId"),
  Schema.annotations({ identifier: "EventId", description: "a ULID" })
)

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

let lastTime = -1
const lastRandom = new Uint8Array(10)

// Random bytes drawn a pool at a time: one call into the system's generator per 409 new milliseconds,
// not one per event (a `randomBytes` call cost more than the rest of an id).
const pool = new Uint8Array(4096)
let pooled = pool.length

const nextRandom = () => {
  if (pooled + lastRandom.length > pool.length) {
    randomFillSync(pool)
    pooled = 0
  }
  lastRandom.set(pool.subarray(pooled, pooled + lastRandom.length))
  pooled += lastRandom.length
}

const encodeTime = (time: number): string => {
  let out = ""
  let t = time
  for (let i = 0; i < 10; i++) {
    out = alphabet[t % 32] + out
    t = Math.floor(t / 32)
  }
  return out
}

const encodeRandom = (bytes: Uint8Array): string => {
  // 80 bits -> 16 characters of 5 bits each
  let out = ""
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += alphabet[(buffer >> bits) & 31]
    }
    buffer &= (1 << bits) - 1
  }
  return out
}

/** A new ULID for `time` (ms since epoch). */
export const unsafeMake = (time: number): EventId => {
  if (time > lastTime) {
    lastTime = time
    nextRandom()
  } else {
    // Same (or earlier, after a clock step back) millisecond: increment so ids stay strictly increasing.
    for (let i = lastRandom.length - 1; i >= 0; i--) {
      lastRandom[i] = (lastRandom[i]! + 1) & 0xff
      if (lastRandom[i] !== 0) break
    }
  }
  return (encodeTime(lastTime) + encodeRandom(lastRandom)) as EventId
}

export const make: Effect.Effect<EventId> = Effect.clockWith((clock) =>
  Effect.sync(() => unsafeMake(clock.unsafeCurrentTimeMillis()))
)
