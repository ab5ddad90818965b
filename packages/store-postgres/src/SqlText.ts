/**
 * Values written into SQL text, for statements that go out in one simple-protocol message with the
 * statements around them (BEGIN and a lock before, COMMIT after): node-postgres sends one message per
 * query and never pipelines, so a parameterised statement costs a round trip of its own.
 */

/**
 * `text` as an escape string constant. `E'…'` reads the same whatever `standard_conforming_strings`
 * says; inside it only the backslash and the quote are special. PostgreSQL text holds no NUL, so a NUL
 * (in a job's failure message, say) becomes U+FFFD rather than failing the statement; JSON (`json`)
 * writes it as an escape instead.
 */
export const quote = (text: string): string =>
  `E'${text.replace(/\\/g, "\\\\").replace(/'/g, "''").replaceAll("\u0000", "\ufffd")}'`

/** `value` as a `json` constant, to be taken apart in the statement with `json_to_recordset` and `->`. */
export const json = (value: unknown): string => `${quote(JSON.stringify(value))}::json`

/** A table of the log's schema in SQL text; the schema is a checked identifier, so it needs no escaping. */
export const table = (schema: string, name: string): string => `"${schema}".${name}`
