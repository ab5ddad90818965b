/**
 * Loads user modules (graphs, `tessera.config.ts`) written in TypeScript or JavaScript.
 */
import * as fs from "node:fs"
import * as Module from "node:module"
import { pathToFileURL } from "node:url"
import { Effect } from "effect"
import { ModuleLoadFailed } from "../Errors.js"

const typescript = /\.[cm]?tsx?$/

let loader: Promise<void> | undefined

/**
 * tsx's loader is registered for the whole process rather than through a namespaced `tsImport`:
 * a namespace gives every module the graph imports (effect, @tessera/core) a second instance, so the
 * graph's jobs would run on a different copy of the libraries than the scheduler. It is imported only
 * when a TypeScript module is loaded: commands that load none start without it.
 */
const registerTypeScript = (): Promise<void> =>
  (loader ??= import("tsx/esm/api").then(({ register }) => {
    register()
    Module.register("./ModuleHooks.js", import.meta.url)
  }))

/** esbuild's lines under tsx's "Transform failed with n error(s):"; its columns count from 0. */
const compileError = /^(.+):(\d+):(\d+): ERROR: (.+)$/

const reasonOf = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error)
  const lines = error.message.split("\n")
  if (error.name === "TransformError") {
    const located = lines.flatMap((line) => {
      const found = compileError.exec(line)
      return found === null ? [] : [`${found[1]}:${found[2]}:${Number(found[3]) + 1}: ${found[4]}`]
    })
    if (located.length > 0) return `it does not compile: ${located.join("; ")}`
  }
  // The first line says what failed; the rest is a stack the user did not ask for.
  const first = lines[0] ?? ""
  return error.name === "Error" || error.name === "" ? first : `${error.name}: ${first}`
}

/** The module's namespace object; `what` names it in errors ("graph module", "config file"). */
export const load = Effect.fn("Modules.load")(function* (file: string, what: string) {
  yield* Effect.annotateCurrentSpan("file", file)
  if (!fs.existsSync(file)) {
    return yield* new ModuleLoadFailed({ path: file, what, reason: "no such file" })
  }
  if (typescript.test(file)) yield* Effect.promise(registerTypeScript)
  return yield* Effect.tryPromise({
    try: () => import(pathToFileURL(file).href) as Promise<Record<string, unknown>>,
    catch: (error) => new ModuleLoadFailed({ path: file, what, reason: reasonOf(error) })
  })
})
