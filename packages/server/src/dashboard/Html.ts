/**
 * HTML built from templates whose interpolations are escaped unless they are HTML already, so no
 * ref, message or manifest from the log can inject markup into a page.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text
  }
}

type Part = Html | string | number | boolean | undefined | null | ReadonlyArray<Part>

export const escapeText = (value: string): string =>
  value
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;")

const render = (part: Part): string => {
  if (part === undefined || part === null || part === false) return ""
  if (part instanceof Html) return part.text
  if (Array.isArray(part)) return part.map(render).join("")
  return escapeText(String(part))
}

export const html = (strings: TemplateStringsArray, ...parts: ReadonlyArray<Part>): Html =>
  new Html(strings.reduce((out, text, i) => out + text + (i < parts.length ? render(parts[i] as Part) : ""), ""))

/** A path segment for a ref or an id. */
export const segment = (value: string): string => encodeURIComponent(value)
