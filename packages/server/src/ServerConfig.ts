/**
 * How this server was started: what it guards, which graph its builds run, where their jobs execute.
 */
import type { Graph } from "@tessera/core"
import { Context, type Option } from "effect"

export interface Config {
  /** Requests that write must carry `Authorization: Bearer <token>`. */
  readonly token: Option.Option<string>
  /** Every write is refused with 403, and the dashboard shows no actions. */
  readonly readOnly: boolean
  /** The executor of builds whose request names none. */
  readonly executor: "local" | "workers"
  /** The graph builds run; none when the server was started without one (it then serves reads and cancels). */
  readonly graph: Option.Option<Graph.Graph>
  /** Signs webhook bodies (HMAC-SHA256); the token signs them when there is none. */
  readonly webhookSecret: Option.Option<string>
  /** Bytes a request body may have (413 beyond). */
  readonly bodyLimit: number
}

export class ServerConfig extends Context.Tag("@tessera/server/ServerConfig")<ServerConfig, Config>() {}
