import { Schema } from "effect"

export type Json = string | number | boolean | null | ReadonlyArray<Json> | { readonly [key: string]: Json }

export const Json: Schema.Schema<Json> = Schema.Union(
  Schema.String,
  Schema.Number.pipe(Schema.finite()),
  Schema.Boolean,
  Schema.Null,
  Schema.Array(Schema.suspend(() => Json)),
  Schema.Record({ key: Schema.String, value: Schema.suspend(() => Json) })
).annotations({ identifier: "Json" })

/**
 * What a job run says about what it wrote, e.g. `{ path, rows, checksum }`. It lands in the log with
 * the COMPLETED event and in the catalog row of every partition the run made AVAILABLE.
 */
export const Manifest = Schema.Record({ key: Schema.String, value: Json }).annotations({ identifier: "Manifest" })
export type Manifest = typeof Manifest.Type
