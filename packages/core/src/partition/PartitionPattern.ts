/**
 * A typed template for partition refs: `pattern("sales/date={date}")`.
 */
import { Either, Option, Schema } from "effect"
import * as PartitionRef from "./PartitionRef.js"

type Params<S extends string> = S extends `${string}{${infer Name}}${infer Rest}` ? Name | Params<Rest> : never

export type ParamsOf<S extends string> = { readonly [K in Params<S>]: string }

export interface PartitionPattern<S extends string = string> {
  readonly template: S
  readonly params: ReadonlyArray<Params<S>>
  /** The params of `ref`, or none when `ref` does not match. */
  readonly parse: (ref: string) => Option.Option<ParamsOf<S>>
  readonly matches: (ref: string) => boolean
  readonly format: (params: ParamsOf<S>) => Either.Either<PartitionRef.PartitionRef, InvalidPatternParams>
  /** Like `format`, for params known to be valid; throws otherwise. */
  readonly unsafeFormat: (params: ParamsOf<S>) => PartitionRef.PartitionRef
}

export class InvalidPattern extends Schema.TaggedError<InvalidPattern>()("InvalidPattern", {
  template: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid partition pattern ${JSON.stringify(this.template)}: ${this.reason}`
  }
}

export class InvalidPatternParams extends Schema.TaggedError<InvalidPatternParams>()("InvalidPatternParams", {
  template: Schema.String,
  param: Schema.String,
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot format ${JSON.stringify(this.template)} with ${this.param}=${JSON.stringify(this.value)}: ${this.reason}`
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * Builds a pattern. Params are `{name}` placeholders; a param's value may not contain `/`, so a
 * ref matches a pattern in at most one way. Throws `InvalidPattern` for a malformed template,
 * which is a programming error in a graph definition.
 */
export const pattern = <const S extends string>(template: S): PartitionPattern<S> => {
  const names: Array<string> = []
  let source = "^"
  let rest: string = template
  for (;;) {
    const open = rest.indexOf("{")
    if (open === -1) {
      if (rest.includes("}")) throw new InvalidPattern({ template, reason: "unbalanced '}'" })
      source += escapeRegExp(rest)
      break
    }
    const close = rest.indexOf("}", open)
    if (close === -1) throw new InvalidPattern({ template, reason: "unbalanced '{'" })
    const name = rest.slice(open + 1, close)
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new InvalidPattern({ template, reason: `param name ${JSON.stringify(name)} is not an identifier` })
    }
    if (names.includes(name)) throw new InvalidPattern({ template, reason: `param {${name}} appears twice` })
    if (open === 0 && names.length > 0 && source.endsWith(")")) {
      throw new InvalidPattern({ template, reason: "two params must be separated by literal text" })
    }
    names.push(name)
    source += `${escapeRegExp(rest.slice(0, open))}([^/]+)`
    rest = rest.slice(close + 1)
  }
  const literal = template.replace(/\{[^}]*\}/g, "x")
  const rule = PartitionRef.check(literal)
  if (rule !== undefined && rule !== "too-long") {
    throw new InvalidPattern({ template, reason: `refs it makes would break the rule '${rule}'` })
  }
  const regex = new RegExp(`${source}$`)

  const parse = (ref: string): Option.Option<ParamsOf<S>> => {
    const match = regex.exec(ref)
    if (match === null) return Option.none()
    const params: Record<string, string> = {}
    names.forEach((name, i) => {
      params[name] = match[i + 1]!
    })
    return Option.some(params as ParamsOf<S>)
  }

  const format = (params: ParamsOf<S>): Either.Either<PartitionRef.PartitionRef, InvalidPatternParams> => {
    const values = params as Record<string, string | undefined>
    let out = template as string
    for (const name of names) {
      const value = values[name]
      if (value === undefined || value === "") {
        return Either.left(new InvalidPatternParams({ template, param: name, value: "", reason: "missing value" }))
      }
      if (value.includes("/")) {
        return Either.left(
          new InvalidPatternParams({ template, param: name, value, reason: "values may not contain '/'" })
        )
      }
      out = out.replace(`{${name}}`, value)
    }
    return Either.mapLeft(
      PartitionRef.make(out),
      (e) => new InvalidPatternParams({ template, param: names.join(","), value: out, reason: e.message })
    )
  }

  return {
    template,
    params: names as unknown as ReadonlyArray<Params<S>>,
    parse,
    matches: (ref) => regex.test(ref),
    format,
    unsafeFormat: (params) => Either.getOrThrowWith(format(params), (e) => e)
  }
}
