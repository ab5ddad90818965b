/**
 * Group commit: appends that arrive while a commit is in flight wait for it, then are committed
 * together in one transaction, so a store pays one durable write (an fsync, a WAL flush) for many
 * concurrent appends instead of one each. Stores give it a `commit` that decides and writes the
 * items of a group in order, inside one transaction, each seeing what the earlier ones wrote.
 */
import { Deferred, Effect, Either, Exit, type Scope } from "effect"

export interface GroupCommit<In, A, E> {
  /** Commits `item` in the next group; resolves only once that group is durable (or failed). */
  readonly submit: (item: In) => Effect.Effect<A, E>
}

export interface Options<In, A, E, R> {
  /**
   * Commits a group as one transaction: one result per item, in order. An item refused alone (a
   * conflict) is a `Left` and the others still land; a failure of the whole effect fails them all.
   */
  readonly commit: (items: ReadonlyArray<In>) => Effect.Effect<ReadonlyArray<Either.Either<A, E>>, E, R>
  /** An item's share of a group's bound (default 1 each). */
  readonly weight?: ((item: In) => number) | undefined
  /** The most a group holds, in weight; a heavier single item is still committed, alone. */
  readonly maxWeight: number
  /**
   * The error of an item submitted once the scope has closed, or still waiting when it closed:
   * nothing of it was written, and its caller learns so at once rather than waiting for a
   * committer that is gone.
   */
  readonly closed: () => E
}

interface Pending<In, A, E> {
  readonly item: In
  readonly done: Deferred.Deferred<A, E>
}

/**
 * One committer fiber, in the scope, commits what is pending group after group; callers only add
 * their item and wait. A caller never leads, so none is held up committing the others' appends.
 */
export const make = <In, A, E, R>(
  options: Options<In, A, E, R>
): Effect.Effect<GroupCommit<In, A, E>, never, R | Scope.Scope> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<R>()
    const weight = options.weight ?? (() => 1)
    const pending: Array<Pending<In, A, E>> = []
    let open = true
    const work = yield* Effect.makeLatch(false)

    /** Commits the oldest pending items that fit one group, and tells each its result. */
    const commitNext = Effect.suspend(() => {
      let taken = 0
      let total = 0
      while (taken < pending.length && (taken === 0 || total + weight(pending[taken]!.item) <= options.maxWeight)) {
        total += weight(pending[taken]!.item)
        taken++
      }
      const group = pending.splice(0, taken)
      return options.commit(group.map((entry) => entry.item)).pipe(
        Effect.exit,
        Effect.flatMap(
          Exit.match({
            onFailure: (cause) => Effect.forEach(group, (entry) => Deferred.failCause(entry.done, cause)),
            onSuccess: (results) =>
              Effect.forEach(group, (entry, i) =>
                Either.match(results[i]!, {
                  onLeft: (error) => Deferred.fail(entry.done, error),
                  onRight: (value) => Deferred.succeed(entry.done, value)
                })
              )
          })
        ),
        Effect.provide(context),
        // A group once taken is committed and answered whole, even while the scope closes.
        Effect.uninterruptible
      )
    })

    yield* Effect.gen(function* () {
      yield* work.await
      yield* work.close
      // With a synchronous driver nothing else runs while a commit does: letting the callers just
      // answered run first lets their next appends join the coming group.
      yield* Effect.yieldNow()
      while (pending.length > 0) yield* commitNext
    }).pipe(Effect.forever, Effect.forkScoped)
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        open = false
        return Effect.forEach(pending.splice(0), (entry) => Deferred.fail(entry.done, options.closed()), {
          discard: true
        })
      })
    )

    // Uninterruptible: an item once pending is committed, so its caller waits for the answer rather
    // than leaving a write that may or may not land after it has gone.
    const submit = (item: In): Effect.Effect<A, E> =>
      Effect.uninterruptible(
        Effect.gen(function* () {
          const done = yield* Deferred.make<A, E>()
          // Checked and queued in one step, so the closing finalizer sees every item queued before it.
          const queued = yield* Effect.sync(() => {
            if (open) pending.push({ item, done })
            return open
          })
          if (!queued) return yield* Effect.fail(options.closed())
          yield* work.open
          return yield* Deferred.await(done)
        })
      )
    return { submit }
  })
