/**
 * Loads user modules (graphs, `tessera.config.ts`) written in TypeScript or JavaScript.
 */
import * as fs from "node:fs"
import { pathToFileURL } from "node:url"
import { Effect } from "effect"
import { register } from "tsx/esm/api"
import { ModuleLoadFailed } from "../Errors.js"

let registered = false

/**
 * tsx's loader is registered for the whole process rather than through a namespaced `tsImport`:
 * a namespace gives every module the graph imports (effect, @tessera/core) a second instance, so the
 * graph's jobs would run on a different copy of the libraries than the scheduler.
 */
const ensureLoader = () => {
  if (!registered) {
    register()
    registered = true
  }
}

const reasonOf = (error: unknown): string => {
  if (error instanceof Error) {
    // The first line says what failed; the rest is a stack the user did not ask for.
    const first = error.message.split("\n")[0] ?? ""
    return error.name === "Error" || error.name === "" ? first : `${error.name}: ${first}`
  }
  return String(error)
}

/** The module's namespace object; `what` names it in errors ("graph module", "config file"). */
export const load = (file: string, what: string): Effect.Effect<Record<string, unknown>, ModuleLoadFailed> =>
  Effect.gen(function* () {
    if (!fs.existsSync(file)) {
      return yield* new ModuleLoadFailed({ path: file, what, reason: "no such file" })
    }
    ensureLoader()
    return yield* Effect.tryPromise({
      try: () => import(pathToFileURL(file).href) as Promise<Record<string, unknown>>,
      catch: (error) => new ModuleLoadFailed({ path: file, what, reason: reasonOf(error) })
    })
  }).pipe(Effect.withSpan("Modules.load", { attributes: { file } }))
