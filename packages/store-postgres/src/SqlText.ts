/**
 * Values written into SQL text, for statements that go out in one simple-protocol message with the
 * statements around them (BEGIN and a lock before, COMMIT after): node-postgres sends one message per
 * query and never pipelines, so a parameterised statement costs a round trip of its own.
 */
import { randomBytes } from "node:crypto"

/**
 * `text` as an escape string constant. `E'…'` reads the same whatever `standard_conforming_strings`
 * says; inside it only the backslash and the quote are special. PostgreSQL text holds no NUL, so a NUL
 * (in a job's failure message, say) becomes U+FFFD rather than failing the statement; JSON (`json`)
 * writes it as an escape instead.
 */
export const quote = (text: string): string =>
  `E'${text.replace(/\\/g, "\\\\").replace(/'/g, "''").replaceAll("\u0000", "\ufffd")}'`

const tagName = () => `t${randomBytes(8).toString("hex")}`

/** This process's dollar-quoting tag: random, so no value can be written to end a constant early. */
const processTag = tagName()

/**
 * `text` dollar-quoted: PostgreSQL takes everything between two copies of the tag as it is, so nothing
 * inside is escaped (escaping a 1,000-event batch's document cost about as much as writing its JSON,
 * and doubled its backslashes for the server to read). The tag's name is checked absent from `text`,
 * else another is drawn; with the name absent no copy of the tag can start inside `text`, not even
 * one running on into the closing tag. For text without NUL (PostgreSQL text holds none).
 */
const dollarQuoted = (text: string): string => {
  let name = processTag
  while (text.includes(name)) name = tagName()
  return `$${name}$${text}$${name}$`
}

/**
 * `value` as a `json` constant, to be taken apart in the statement with `json_to_recordset` and `->`.
 * JSON writes NUL and every control character as an escape, so its text always dollar-quotes.
 */
export const json = (value: unknown): string => `${dollarQuoted(JSON.stringify(value))}::json`

/** A table of the log's schema in SQL text; the schema is a checked identifier, so it needs no escaping. */
export const table = (schema: string, name: string): string => `"${schema}".${name}`
