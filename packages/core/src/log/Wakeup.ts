/**
 * A signal for tails: appenders `signal`, waiters take a `next` handle *before* they read, so a
 * signal between their read and their wait is never lost.
 */
import { Deferred, Effect, Ref } from "effect"

export interface Wakeup {
  readonly signal: Effect.Effect<void>
  /** An effect that completes at the first signal after this handle was taken. */
  readonly next: Effect.Effect<Effect.Effect<void>>
}

export const make: Effect.Effect<Wakeup> = Effect.gen(function* () {
  const current = yield* Ref.make(yield* Deferred.make<void>())
  const signal = Effect.flatMap(Deferred.make<void>(), (fresh) =>
    Effect.flatMap(Ref.getAndSet(current, fresh), (previous) => Deferred.succeed(previous, undefined))
  )
  const next = Effect.map(Ref.get(current), (deferred) => Deferred.await(deferred))
  return { signal: Effect.asVoid(signal), next }
})
