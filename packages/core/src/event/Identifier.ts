/**
 * Names users choose that end up as keys in every store (build request ids, job names): bounded in
 * bytes and well-formed, so every store keeps them apart the same way and every index takes them.
 * Partition refs follow the same text rules (`PartitionRef.check`), and more of their own.
 */
import { Schema } from "effect"

/** The most bytes of UTF-8 an id or a job name may have: far below every store's index limit. */
export const MAX_BYTES = 256

/** A lone UTF-16 surrogate: not Unicode, and stores disagree on it (PostgreSQL turns each into U+FFFD). */
export const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is precisely about control characters
export const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/

const encoder = new TextEncoder()

/** Whether `input` takes more than `maxBytes` bytes of UTF-8 (encoded only when it might). */
export const longerThan = (input: string, maxBytes: number): boolean =>
  input.length > maxBytes / 3 && encoder.encode(input).length > maxBytes

/** What is wrong with `input` as an identifier, or undefined when nothing is. */
export const problem = (input: string): string | undefined => {
  if (input.length === 0) return "it is empty"
  if (longerThan(input, MAX_BYTES)) return `it is longer than ${MAX_BYTES} bytes of UTF-8`
  if (controlCharacter.test(input)) return "it contains control characters (tabs, newlines, NUL, ...)"
  if (loneSurrogate.test(input)) return "it is not well-formed Unicode (it holds a lone surrogate)"
  return undefined
}

/** A build request id or a job name that no store could keep as given. */
export class InvalidIdentifier extends Schema.TaggedError<InvalidIdentifier>()("InvalidIdentifier", {
  kind: Schema.Literal("build request id", "job name"),
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    const shown = JSON.stringify(this.value.length > 80 ? `${this.value.slice(0, 80)}…` : this.value)
    return `invalid ${this.kind} ${shown}: ${this.reason}`
  }
}
