/**
 * The views of a whole log, folded from its first event: the reference every store is checked against.
 */
import { Either } from "effect"
import type { LoggedEvent } from "../event/BuildEvent.js"
import type { InvalidTransition } from "./Errors.js"
import { emptyState, reduce, type State } from "./Reducer.js"

export const replay = (events: Iterable<LoggedEvent>): Either.Either<State, InvalidTransition> => {
  const state = emptyState()
  for (const entry of events) {
    const refused = reduce(state, entry)
    if (refused !== undefined) return Either.left(refused)
  }
  return Either.right(state)
}
