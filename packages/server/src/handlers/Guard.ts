/**
 * The guard on writes: --read-only refuses them all (403); a token makes them need
 * `Authorization: Bearer <token>` (401 without it). Reads stay open, so a dashboard and probes need
 * no secret; bind to 127.0.0.1 (the default) or put the server behind a proxy to restrict them.
 */
import { timingSafeEqual } from "node:crypto"
import { HttpServerRequest } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { Guard } from "../api/Api.js"
import { ReadOnly, Unauthorized } from "../api/Errors.js"
import { ServerConfig } from "../ServerConfig.js"

const matches = (given: string, token: string) => {
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

export const GuardLive = Layer.effect(
  Guard,
  Effect.map(ServerConfig, (config) =>
    Effect.gen(function* () {
      if (config.readOnly) {
        return yield* new ReadOnly({
          message:
            "this server was started with --read-only: it answers reads only; restart it without --read-only to change anything"
        })
      }
      if (Option.isNone(config.token)) return
      const request = yield* HttpServerRequest.HttpServerRequest
      const header = request.headers.authorization ?? ""
      const given = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : ""
      if (!matches(given, config.token.value)) {
        return yield* new Unauthorized({
          message:
            given === ""
              ? "this server needs a token for changes: send `Authorization: Bearer <token>` (the --token it was started with)"
              : "the token does not match the one this server was started with"
        })
      }
    })
  )
)
