/**
 * An Effect scheduler that gives Node's event loop a turn at least every few milliseconds.
 *
 * Effect's default scheduler runs fibers on microtasks and falls back to a macrotask only after
 * 2,048 turns of one fiber's runner in a row. A build on a synchronous store (better-sqlite3) is a
 * storm of short fibers that each run out of work before that: the microtask queue never empties,
 * and for the whole build no timer fires and no signal is handled. Leases then go unextended while
 * a slow job runs beside fast ones (another process may take its partitions over), sleeps and
 * timeouts stretch, progress stops redrawing and Ctrl-C waits for the end. This scheduler runs
 * fibers the same way but moves the next batch to `setImmediate` once a slice has passed, so
 * timers, I/O and signals get their turn.
 */
import { Scheduler } from "effect"

/** How long fibers may run on microtasks before the event loop gets a turn. */
export const SLICE_MS = 10

class Fair implements Scheduler.Scheduler {
  private lastTurn = performance.now()

  private readonly runner = Scheduler.SchedulerRunner.cached((_depth, drain) => {
    if (performance.now() - this.lastTurn < SLICE_MS) {
      queueMicrotask(() => drain(0))
      return
    }
    setImmediate(() => {
      this.lastTurn = performance.now()
      drain(0)
    })
  })

  shouldYield: Scheduler.Scheduler["shouldYield"] = (fiber) => Scheduler.defaultScheduler.shouldYield(fiber)

  scheduleTask: Scheduler.Scheduler["scheduleTask"] = (task, priority, fiber) =>
    this.runner(fiber).scheduleTask(task, priority)
}

/** The scheduler builds and workers run their fibers on. */
export const fair: Scheduler.Scheduler = new Fair()
