/**
 * A typed client of the Tessera API for other TypeScript services, derived from the same
 * declaration the server implements: `Effect.flatMap(Client.make("http://127.0.0.1:4000"), (tessera) =>
 * tessera.builds.create({ payload: { refs: ["sales/date=2026-11-01"] } }))`. It needs an `HttpClient`
 * (`FetchHttpClient.layer`, or `NodeHttpClient.layer`).
 */
import { type HttpApi, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import type { Effect } from "effect"
import { TesseraApi } from "./api/Api.js"

type GroupsOf<A> = A extends HttpApi.HttpApi<string, infer Groups, infer _E, infer _R> ? Groups : never
type ErrorsOf<A> = A extends HttpApi.HttpApi<string, infer _G, infer E, infer _R> ? E : never

export type TesseraClient = HttpApiClient.Client<GroupsOf<typeof TesseraApi>, ErrorsOf<typeof TesseraApi>, never>

export interface ClientOptions {
  /** Sent as `Authorization: Bearer <token>`, for a server started with --token. */
  readonly token?: string | undefined
}

export const make = (
  baseUrl: string,
  options: ClientOptions = {}
): Effect.Effect<TesseraClient, never, HttpClient.HttpClient> =>
  HttpApiClient.make(TesseraApi, {
    baseUrl,
    ...(options.token === undefined
      ? {}
      : { transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(options.token)) })
  })
