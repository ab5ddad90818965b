/**
 * Group commit: appends that arrive while a commit is in flight wait for it, then are committed
 * together in one transaction, so a store pays one durable write (an fsync, a WAL flush) for many
 * concurrent appends instead of one each. Stores give it a `commit` that decides and writes the
 * items of a group in order, inside one transaction, each seeing what the earlier ones wrote.
 */
import { Effect, Either, Exit, type Scope } from "effect"

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

/** The most event-loop turns a group waits for more items: a steady stream of appends still commits. */
const GATHER_ROUNDS = 16

/** Resumes once the event loop has run everything already queued: microtasks, and the immediates before it. */
const nextTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

interface Pending<In, A, E> {
  readonly item: In
  /** Resumes the caller, suspended in `Effect.async`, with its answer. */
  readonly answer: (result: Effect.Effect<A, E>) => void
}

/**
 * One committer fiber, in the scope, commits what is pending group after group; callers only add
 * their item and wait. A caller never leads, so none is held up committing the others' appends.
 * Callers and the committer wait in `Effect.async` on plain callbacks: an append is a handful of
 * microseconds of bookkeeping here, not a Deferred and a latch each.
 */
export const make = <In, A, E, R>(
  options: Options<In, A, E, R>
): Effect.Effect<GroupCommit<In, A, E>, never, R | Scope.Scope> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<R>()
    const weight = options.weight ?? (() => 1)
    const pending: Array<Pending<In, A, E>> = []
    let open = true
    /** Set while the committer waits for work: the next submit calls it. */
    let wake: (() => void) | undefined

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
        Effect.map(
          Exit.match({
            onFailure: (cause) => {
              for (const entry of group) entry.answer(Effect.failCause(cause))
            },
            onSuccess: (results) => {
              for (const [i, entry] of group.entries()) {
                entry.answer(Either.match(results[i]!, { onLeft: Effect.fail, onRight: Effect.succeed }))
              }
            }
          })
        ),
        Effect.provide(context),
        // A group once taken is committed and answered whole, even while the scope closes.
        Effect.uninterruptible
      )
    })

    /** Waits until something is pending; checked again inside, so a submit just before is never missed. */
    const work = Effect.async<void>((resume) => {
      if (pending.length > 0) return resume(Effect.void)
      wake = () => {
        wake = undefined
        resume(Effect.void)
      }
    })

    /**
     * With a synchronous driver nothing else runs while a commit does, and the callers just answered
     * reach their next append several scheduler hops apart (a job's claim, its fiber, its result).
     * So the committer waits a turn of the event loop (`setImmediate`) while items keep arriving,
     * and commits once a turn brings none: every fiber that could run meanwhile has run, on
     * microtasks or on the immediates a fair scheduler moves them to once its slice has passed.
     * Counting scheduler rounds instead ended a group as soon as the fibers had moved to
     * immediates: a build at concurrency 16 then committed its appends one by one.
     */
    const gather = Effect.suspend(() => {
      let arrived = -1
      let turn = 0
      return Effect.whileLoop({
        while: () => turn < GATHER_ROUNDS && pending.length !== arrived,
        body: () => {
          arrived = pending.length
          turn++
          return nextTurn
        },
        step: () => {}
      })
    })
    yield* Effect.gen(function* () {
      yield* work
      yield* gather
      while (pending.length > 0) yield* commitNext
    }).pipe(Effect.forever, Effect.forkScoped)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        open = false
        for (const entry of pending.splice(0)) entry.answer(Effect.fail(options.closed()))
      })
    )

    // Uninterruptible: an item once pending is committed, so its caller waits for the answer rather
    // than leaving a write that may or may not land after it has gone. Checked and queued in one
    // step, so the closing finalizer sees every item queued before it.
    const submit = (item: In): Effect.Effect<A, E> =>
      Effect.uninterruptible(
        Effect.async<A, E>((answer) => {
          if (!open) return answer(Effect.fail(options.closed()))
          pending.push({ item, answer })
          wake?.()
        })
      )
    return { submit }
  })
