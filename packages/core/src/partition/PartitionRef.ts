/**
 * A partition reference names one partition of a dataset: `sales/date=2026-11-01`.
 */
import { type Brand, type Effect, Either, ParseResult, Schema } from "effect"

export type PartitionRef = string & Brand.Brand<"PartitionRef">

export const MAX_BYTES = 1024

/** Each rule a ref can break, so callers can react to the rule rather than parse a message. */
export type Rule =
  | "empty"
  | "too-long"
  | "control-character"
  | "leading-slash"
  | "dot-segment"
  | "backslash"
  | "empty-segment"
  | "malformed-unicode"

export class InvalidPartitionRef extends Schema.TaggedError<InvalidPartitionRef>()("InvalidPartitionRef", {
  ref: Schema.String,
  rule: Schema.Literal(
    "empty",
    "too-long",
    "control-character",
    "leading-slash",
    "dot-segment",
    "backslash",
    "empty-segment",
    "malformed-unicode"
  )
}) {
  override get message(): string {
    const shown = JSON.stringify(this.ref.length > 80 ? `${this.ref.slice(0, 80)}…` : this.ref)
    return `invalid partition ref ${shown}: ${describe[this.rule]}`
  }
}

const describe: Record<Rule, string> = {
  empty: "a ref may not be empty; write it as dataset/key=value, e.g. sales/date=2026-11-01",
  "too-long": `a ref may be at most ${MAX_BYTES} bytes of UTF-8`,
  "control-character": "a ref may not contain control characters (tabs, newlines, NUL, ...)",
  "leading-slash": "a ref is relative: remove the leading '/'",
  "dot-segment": "a ref may not contain '.' or '..' segments",
  backslash: "a ref separates segments with '/', never '\\'",
  "empty-segment": "a ref may not contain empty segments ('//') or end with '/'",
  "malformed-unicode": "a ref must be well-formed Unicode (it holds a lone UTF-16 surrogate)"
}

/** The segment rule `input[start, end)` breaks, if any. */
const segmentRule = (input: string, start: number, end: number): Rule | undefined => {
  if (end === start) return "empty-segment"
  if (
    input.charCodeAt(start) === 0x2e &&
    (end === start + 1 || (end === start + 2 && input.charCodeAt(start + 1) === 0x2e))
  )
    return "dot-segment"
  return undefined
}

/**
 * The rule `input` breaks, if any; when it breaks several, the first of: empty, too long, control
 * character, malformed Unicode, leading slash, backslash, then the first bad segment. One pass over
 * the characters with no allocation: planning a million partitions checks every ref it meets.
 */
export const check = (input: string): Rule | undefined => {
  const length = input.length
  if (length === 0) return "empty"
  let bytes = 0
  let control = false
  let lone = false
  let backslash = false
  let segment: Rule | undefined
  let segmentStart = 0
  for (let i = 0; i < length; i++) {
    const c = input.charCodeAt(i)
    if (c < 0x80) {
      bytes += 1
      if (c < 0x20 || c === 0x7f) control = true
      else if (c === 0x5c) backslash = true
      else if (c === 0x2f) {
        segment ??= segmentRule(input, segmentStart, i)
        segmentStart = i + 1
      }
    } else if (c < 0x800) {
      bytes += 2
      if (c <= 0x9f) control = true
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < length ? input.charCodeAt(i + 1) : 0
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4
        i++
      } else {
        // UTF-8 carries a lone surrogate as U+FFFD, three bytes.
        bytes += 3
        lone = true
      }
    } else {
      bytes += 3
      if (c >= 0xdc00 && c <= 0xdfff) lone = true
    }
  }
  segment ??= segmentRule(input, segmentStart, length)
  if (bytes > MAX_BYTES) return "too-long"
  if (control) return "control-character"
  if (lone) return "malformed-unicode"
  if (input.charCodeAt(0) === 0x2f) return "leading-slash"
  if (backslash) return "backslash"
  return segment
}

export const PartitionRef: Schema.brand<Schema.filter<typeof Schema.String>, "PartitionRef"> = Schema.String.pipe(
  Schema.filter((input) => {
    const rule = check(input)
    return rule === undefined ? undefined : describe[rule]
  }),
  Schema.brand("PartitionRef"),
  Schema.annotations({ identifier: "PartitionRef", description: "dataset/key=value/..." })
)

/** Validates `input`, failing with an `InvalidPartitionRef` that names the broken rule. */
export const make = (input: string): Either.Either<PartitionRef, InvalidPartitionRef> => {
  const rule = check(input)
  return rule === undefined
    ? Either.right(input as PartitionRef)
    : Either.left(new InvalidPartitionRef({ ref: input, rule }))
}

export const parse = (input: string): Effect.Effect<PartitionRef, InvalidPartitionRef> => make(input)

/** For refs known to be valid (literals in code); throws on an invalid one. */
export const unsafeMake = (input: string): PartitionRef => Either.getOrThrowWith(make(input), (e) => e)

export const decodeUnknown = ParseResult.decodeUnknown(PartitionRef)

/** The dataset a ref belongs to: its first segment. */
export const dataset = (ref: PartitionRef): string => {
  const slash = ref.indexOf("/")
  return slash === -1 ? ref : ref.slice(0, slash)
}

/** Whether `ref` lies under `prefix` (segment-wise or plain string prefix, as `status sales/` expects). */
export const hasPrefix = (ref: string, prefix: string): boolean => ref.startsWith(prefix)
