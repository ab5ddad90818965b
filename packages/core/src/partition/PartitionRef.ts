/**
 * A partition reference names one partition of a dataset: `sales/date=2026-11-01`.
 */
import { type Brand, type Effect, Either, ParseResult, Schema } from "effect"
import { controlCharacter, longerThan, loneSurrogate } from "../event/Identifier.js"

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

/** The rule `input` breaks, if any. */
export const check = (input: string): Rule | undefined => {
  if (input.length === 0) return "empty"
  if (longerThan(input, MAX_BYTES)) return "too-long"
  if (controlCharacter.test(input)) return "control-character"
  if (loneSurrogate.test(input)) return "malformed-unicode"
  if (input.startsWith("/")) return "leading-slash"
  if (input.includes("\\")) return "backslash"
  for (const segment of input.split("/")) {
    if (segment === "") return "empty-segment"
    if (segment === "." || segment === "..") return "dot-segment"
  }
  return undefined
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
