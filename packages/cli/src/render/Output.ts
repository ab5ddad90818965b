/**
 * What reaches stdout and stderr, whoever printed it: Tessera's own lines and @effect/cli's help and
 * errors, which @effect/cli always renders with ANSI colour.
 */
import { Console, Effect } from "effect"

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are what is removed
const colourCodes = /\u001b\[[0-9;]*m/g

/** `text` without ANSI colour codes. */
export const plain = (text: string): string => text.replace(colourCodes, "")

/**
 * Whether `stream` gets colour: FORCE_COLOR forces it (`0` or `false` turn it off), otherwise only a
 * terminal that has colours, as Node judges it (NO_COLOR, NODE_DISABLE_COLORS and TERM=dumb turn it off).
 */
export const hasColour = (stream: NodeJS.WriteStream): boolean => {
  const force = process.env.FORCE_COLOR
  if (force !== undefined) return force !== "0" && force !== "false"
  return stream.isTTY === true && stream.hasColors()
}

/**
 * @effect/cli puts this type line above the description of every text flag and argument; with a
 * description of their own it only says that text is text.
 */
const stockTextLine = /^ *A user-defined piece of text\.\n\n/gm

const forStream = (colour: boolean) => (arg: unknown) =>
  typeof arg === "string" ? (colour ? arg : plain(arg)).replace(stockTextLine, "") : arg

/** Runs `effect` printing through the current Console, with the output fitted to where it goes. */
export const fitted = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Console.consoleWith((base) => {
    const out = forStream(hasColour(process.stdout))
    const err = forStream(hasColour(process.stderr))
    return Effect.withConsole(effect, {
      ...base,
      log: (...args) => base.log(...args.map(out)),
      info: (...args) => base.info(...args.map(out)),
      error: (...args) => base.error(...args.map(err)),
      warn: (...args) => base.warn(...args.map(err))
    })
  })
