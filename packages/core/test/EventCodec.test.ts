import { describe, expect, it } from "@effect/vitest"
import { BuildEvent, EventCodec } from "@tessera/core"
import { Arbitrary, Either, FastCheck as fc, Schema } from "effect"

/** Whether `value` holds a -0 anywhere: JSON writes it as 0, the one number it cannot carry apart. */
const holdsNegativeZero = (value: unknown): boolean =>
  Object.is(value, -0) || (typeof value === "object" && value !== null && Object.values(value).some(holdsNegativeZero))

const arbitraryEvent = Arbitrary.make(BuildEvent.BuildEvent).filter((event) => !holdsNegativeZero(event))

describe("EventCodec", () => {
  it.prop("every event round-trips through its JSON encoding", [arbitraryEvent], ([event]) => {
    const decoded = Either.getOrThrow(EventCodec.decode(EventCodec.encode(event)))
    expect(decoded).toEqual(event)
    expect(decoded).toBeInstanceOf(event.constructor)
  })

  it.prop("the encoding is the schema's own, field for field and in order", [arbitraryEvent], ([event]) => {
    const bySchema = { v: EventCodec.SCHEMA_VERSION, ...Schema.encodeSync(BuildEvent.BuildEvent)(event) }
    expect(EventCodec.encode(event)).toBe(JSON.stringify(bySchema))
  })

  it("carries the schema version and ignores fields a newer minor version added", () => {
    const [event] = fc.sample(arbitraryEvent, { numRuns: 1, seed: 7 })
    const document = EventCodec.toJson(event!)
    expect(document.v).toBe(EventCodec.SCHEMA_VERSION)
    const grown = Either.getOrThrow(EventCodec.fromJson({ ...document, addedLater: { x: 1 } }))
    expect(grown).toEqual(event)
  })

  it("refuses documents it cannot read, saying why and where", () => {
    const newer = EventCodec.decode(JSON.stringify({ v: 99, _tag: "Delegated" }), 12)
    expect(Either.isLeft(newer) && newer.left.message).toContain("seq 12")
    expect(Either.isLeft(newer) && newer.left.message).toContain("newer")
    const garbage = EventCodec.decode("{not json", 3)
    expect(Either.isLeft(garbage) && garbage.left._tag).toBe("EventDecodeError")
    const unversioned = EventCodec.decode(JSON.stringify({ _tag: "Delegated" }))
    expect(Either.isLeft(unversioned) && unversioned.left.reason).toContain("schema version")
    const wrongShape = EventCodec.decode(JSON.stringify({ v: 1, _tag: "Delegated", partitionRef: "/bad" }))
    expect(Either.isLeft(wrongShape)).toBe(true)
  })
})
