import { describe, expect, it } from "@effect/vitest"
import { PartitionRef } from "@tessera/core"
import { Effect, Either, FastCheck as fc, Schema } from "effect"

/** The rules as they read, one regular expression or split each: `check` must agree with them on every string. */
const byTheRules = (input: string): PartitionRef.Rule | undefined => {
  if (input.length === 0) return "empty"
  if (new TextEncoder().encode(input).length > PartitionRef.MAX_BYTES) return "too-long"
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is precisely about control characters
  if (/[\u0000-\u001f\u007f-\u009f]/.test(input)) return "control-character"
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(input)) return "malformed-unicode"
  if (input.startsWith("/")) return "leading-slash"
  if (input.includes("\\")) return "backslash"
  for (const segment of input.split("/")) {
    if (segment === "") return "empty-segment"
    if (segment === "." || segment === "..") return "dot-segment"
  }
  return undefined
}

/** Characters that sit on a rule's edge: separators, dots, controls, surrogates, multi-byte ones. */
const edgy = fc.constantFrom(
  "a",
  "=",
  "/",
  ".",
  "\\",
  "\n",
  "\u007f",
  "\u0085",
  "\u00a0",
  "é",
  "\ud83d\ude00",
  "\ud800",
  "\udc00",
  "\ufffd"
)

describe("PartitionRef", () => {
  it("accepts canonical refs", () => {
    for (const ref of ["sales/date=2026-11-01", "a", "reviews/category=comedy/date=2026-01-02", "x/y=ü"]) {
      expect(Either.isRight(PartitionRef.make(ref))).toBe(true)
    }
  })

  it("refuses each bad ref with a typed error naming the rule", () => {
    const cases: ReadonlyArray<[string, PartitionRef.Rule]> = [
      ["", "empty"],
      ["a".repeat(1025), "too-long"],
      ["é".repeat(513), "too-long"],
      ["sales/date=1\n", "control-character"],
      ["sales\u0000", "control-character"],
      ["/sales/date=1", "leading-slash"],
      ["sales/./date=1", "dot-segment"],
      ["sales/..", "dot-segment"],
      ["sales\\date=1", "backslash"],
      ["sales//date=1", "empty-segment"],
      ["sales/", "empty-segment"],
      ["s/x=\ud800", "malformed-unicode"],
      ["s/x=\udc00", "malformed-unicode"],
      ["s/x=\udc00\ud800", "malformed-unicode"]
    ]
    for (const [input, rule] of cases) {
      const result = PartitionRef.make(input)
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "InvalidPartitionRef", rule })
      if (Either.isLeft(result)) expect(result.left.message).toContain("invalid partition ref")
    }
    expect(Either.isRight(PartitionRef.make("a".repeat(1024)))).toBe(true)
    // U+FFFD and a well-formed surrogate pair are Unicode like any other character.
    expect(Either.isRight(PartitionRef.make("s/x=\ufffd"))).toBe(true)
    expect(Either.isRight(PartitionRef.make("s/x=\ud83d\ude00"))).toBe(true)
  })

  it.prop(
    "any string is either a ref every store keeps as is (well-formed, bounded) or refused with a rule",
    [fc.string({ unit: "binary", maxLength: 40 })],
    ([input]) => {
      const result = PartitionRef.make(input)
      if (Either.isLeft(result)) expect(result.left.rule).toBeTypeOf("string")
      else expect(new TextDecoder().decode(new TextEncoder().encode(input))).toBe(input)
    }
  )

  it.prop(
    "check agrees with the rules as they read, on short strings of edge characters and on long ones near the byte limit",
    [
      fc.oneof(
        fc.string({ unit: edgy, maxLength: 12 }),
        fc.string({ unit: fc.constantFrom("a", "é", "\ud83d\ude00", "\ud800", "/"), minLength: 300, maxLength: 1100 })
      )
    ],
    ([input]) => {
      expect(PartitionRef.check(input)).toBe(byTheRules(input))
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.effect("the schema decodes valid refs and reports the rule for invalid ones", () =>
    Effect.gen(function* () {
      expect(yield* Schema.decodeUnknown(PartitionRef.PartitionRef)("sales/date=1")).toBe("sales/date=1")
      const error = yield* Effect.flip(Schema.decodeUnknown(PartitionRef.PartitionRef)("/x"))
      expect(error.message).toContain("leading '/'")
    })
  )

  it.prop(
    "a ref made of valid segments is accepted and keeps its dataset",
    [fc.array(fc.stringMatching(/^[a-z0-9=_-]{1,12}$/), { minLength: 1, maxLength: 6 })],
    ([segments]) => {
      const candidate = segments.join("/")
      const ok = segments.every((s) => s !== "." && s !== "..")
      const result = PartitionRef.make(candidate)
      expect(Either.isRight(result)).toBe(ok)
      if (Either.isRight(result)) expect(PartitionRef.dataset(result.right)).toBe(segments[0])
    }
  )
})
