import { Schema } from "effect"

export type Json = string | number | boolean | null | ReadonlyArray<Json> | { readonly [key: string]: Json }

const describeValue = (value: unknown): string => {
  if (value === undefined) return "undefined"
  if (typeof value === "number") return String(value)
  if (typeof value === "bigint") return `the bigint ${value}n (use a number or a string)`
  if (typeof value === "function") return "a function"
  if (typeof value === "symbol") return "a symbol"
  if (value instanceof Date) return "a Date (store value.toISOString() or value.getTime())"
  if (value instanceof Map || value instanceof Set) return `a ${value.constructor.name} (store an object or an array)`
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === "string" && name !== "" ? `a ${name}` : "an object JSON cannot carry"
}

/**
 * Where `value` holds something JSON cannot carry faithfully, described, with its path (`$.a[2]`);
 * undefined when it is plain JSON. A `Date`, a class instance, `undefined`, `NaN` or a bigint would
 * otherwise be stored as something else (`{}`, `null`, nothing) without a word; they are refused.
 */
export const nonJson = (value: unknown, path = "$"): string | undefined => {
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `${path} is ${describeValue(value)}`
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nonJson(value[i], `${path}[${i}]`)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) return `${path} is ${describeValue(value)}`
    for (const [key, inner] of Object.entries(value)) {
      const found = nonJson(inner, `${path}.${key}`)
      if (found !== undefined) return found
    }
    return undefined
  }
  return `${path} is ${describeValue(value)}`
}

/**
 * A JSON value, checked by walking it once. It is a declaration rather than a recursive union of
 * schemas: a `Schema.suspend` makes every schema around it (each event class) build a new type AST
 * per validation, which compiles its parser again for every event constructed (~270 µs, not ~5).
 */
export const Json: Schema.Schema<Json> = Schema.declare(
  (value: unknown): value is Json => nonJson(value) === undefined,
  {
    identifier: "Json",
    description: "null, a boolean, a finite number, a string, or an array or plain object of JSON values",
    arbitrary: () => (fc) => fc.jsonValue({ maxDepth: 3 }).map((value) => value as Json),
    // JSON Schema (and OpenAPI) needs a type here: an empty annotation is not taken as one.
    jsonSchema: {
      anyOf: [
        { type: "null" },
        { type: "boolean" },
        { type: "number" },
        { type: "string" },
        { type: "array" },
        { type: "object" }
      ]
    }
  }
)

/**
 * What a job run says about what it wrote, e.g. `{ path, rows, checksum }`. It lands in the log with
 * the COMPLETED event and in the catalog row of every partition the run made AVAILABLE.
 */
export const Manifest = Schema.Record({ key: Schema.String, value: Json }).annotations({ identifier: "Manifest" })
export type Manifest = typeof Manifest.Type

/** Why `value` is not a manifest (a plain JSON object), or undefined when it is one. */
export const notAManifest = (value: unknown): string | undefined => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return `a manifest is a plain JSON object, not ${Array.isArray(value) ? "an array" : value === null ? "null" : typeof value}`
  }
  return nonJson(value)
}
