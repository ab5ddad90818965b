/**
 * Module hooks `Modules` registers after tsx's, so they run around them (hooks chain last in, first out).
 * They run on Node's module hooks thread, so they import nothing but types.
 */
import type { ResolveHook } from "node:module"

const typescript = /\.tsx?$/

/**
 * A `.ts` file is an ES module wherever it is. tsx takes the nearest package.json's "type" for it, like
 * Node does for `.js`, so a graph in a folder without `"type": "module"` became CommonJS and failed
 * with "Cannot require() ES Module … in a cycle" on the first `import`. `.mts`, `.cts`, `.js` and
 * `.mjs` keep the format Node gives them; CommonJS TypeScript is written as `.cts`.
 */
export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  const resolved = await nextResolve(specifier, context)
  return resolved.format === "commonjs" && typescript.test(new URL(resolved.url).pathname)
    ? { ...resolved, format: "module" }
    : resolved
}
