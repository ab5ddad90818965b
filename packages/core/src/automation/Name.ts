/**
 * Sensor and schedule names: they end up in build request ids and in the automation state table,
 * so they are short and plain, and one graph never declares the same one twice.
 */
import { Schema } from "effect"

const plain = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

/** A sensor or schedule declared with a name Tessera cannot use as given. */
export class InvalidAutomation extends Schema.TaggedError<InvalidAutomation>()("InvalidAutomation", {
  name: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `sensor or schedule ${JSON.stringify(this.name)}: ${this.reason}`
  }
}

/** Throws `InvalidAutomation` for a name that is not 1–64 letters, digits, `_`, `.` or `-`. */
export const check = (name: string): string => {
  if (!plain.test(name)) {
    throw new InvalidAutomation({
      name,
      reason: "a name is 1 to 64 letters, digits, _, . or -, starting with a letter or digit"
    })
  }
  return name
}
