/**
 * The concurrency slots of a build: a first-come, first-served semaphore that hands a released
 * permit to the longest waiter directly. Effect's own `Semaphore` wakes every waiter on each
 * release to let them race for it, so a build of 2,000 runs waiting on 16 slots spent its time
 * waking 2,000 fibers per finished job (quadratic in the build's size); here a release wakes one.
 */
import { Deferred, Effect, Exit } from "effect"

export interface Permits {
  /** Runs `self` holding a permit, after waiting in line for one. */
  readonly withPermit: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

interface Waiter {
  readonly granted: Deferred.Deferred<void>
  /** Its fiber stopped waiting (interrupted): a release skips it. */
  gone: boolean
  /** A release handed it the permit. */
  handed: boolean
}

export const make = (permits: number): Effect.Effect<Permits> =>
  Effect.sync(() => {
    let free = permits
    // A queue with a moving head: taking from the front stays O(1).
    let line: Array<Waiter> = []
    let head = 0

    const releaseUnsafe = () => {
      while (head < line.length) {
        const next = line[head++]!
        if (next.gone) continue
        next.handed = true
        Deferred.unsafeDone(next.granted, Exit.void)
        return
      }
      line = []
      head = 0
      free++
    }
    const release = Effect.sync(releaseUnsafe)

    const take = Effect.suspend(() => {
      if (free > 0) {
        free--
        return Effect.void
      }
      return Effect.flatMap(Deferred.make<void>(), (granted) => {
        const waiter: Waiter = { granted, gone: false, handed: false }
        line.push(waiter)
        return Deferred.await(granted).pipe(
          // Interrupted in line: leave it; if the permit was handed over meanwhile, pass it on.
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              waiter.gone = true
              if (waiter.handed) releaseUnsafe()
            })
          )
        )
      })
    })

    const withPermit = <A, E, R>(self: Effect.Effect<A, E, R>) =>
      Effect.uninterruptibleMask((restore) => Effect.zipRight(restore(take), Effect.ensuring(restore(self), release)))

    return { withPermit }
  })
