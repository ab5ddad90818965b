/**
 * Snappy for the pages the writer compresses. hyparquet-writer's own Snappy is JavaScript and took a
 * fifth of a 1M-row write; the `snappy` package (Rust, prebuilt for every common platform) does the
 * same in a fortieth of the time. Where its binary does not load, the JavaScript one is used.
 */
import { createRequire } from "node:module"

type Compress = (input: Uint8Array) => Uint8Array

const nativeSnappy = (): Compress | undefined => {
  try {
    const snappy: { readonly compressSync: (input: Uint8Array) => Uint8Array } = createRequire(import.meta.url)(
      "snappy"
    )
    return (input) => snappy.compressSync(input)
  } catch {
    return undefined
  }
}

const snappy = nativeSnappy()

/** The compressors to pass to hyparquet-writer: none, so its own Snappy, when the native one is missing. */
export const compressors: { readonly SNAPPY?: Compress } = snappy === undefined ? {} : { SNAPPY: snappy }
