/**
 * /api/v1/sensors, /api/v1/schedules and pausing: the overview core computes (last tick from the log,
 * pauses from `AutomationState`), like `tessera sensors` and `tessera schedules`. A pause is written
 * to the state every daemon and server on the store reads before each pass and tick.
 */
import { HttpApiBuilder, type HttpApiGroup } from "@effect/platform"
import { AutomationOverview, AutomationState, type EventLog, Graph } from "@tessera/core"
import { Clock, Effect, Layer, Option } from "effect"
import { type Guard, TesseraApi } from "../api/Api.js"
import { NotFound } from "../api/Errors.js"
import { ServerConfig } from "../ServerConfig.js"
import { http } from "./Failures.js"

/**
 * The state in context (the CLI gives the store's table), or one in this process's memory for a
 * server started without it (tests, a Delta store).
 */
export const StateLive: Layer.Layer<AutomationState.AutomationState> = Layer.effect(
  AutomationState.AutomationState,
  Effect.flatMap(Effect.serviceOption(AutomationState.AutomationState), (found) =>
    Option.match(found, { onSome: Effect.succeed, onNone: () => AutomationState.makeMemory })
  )
)

const graphOf = Effect.map(ServerConfig, (config) => Option.getOrElse(config.graph, () => Graph.make([])))

const setPaused = (name: string, paused: boolean) =>
  Effect.gen(function* () {
    const graph = yield* graphOf
    const kind = AutomationOverview.kindOf(graph, name)
    if (kind === undefined) {
      return yield* new NotFound({
        message: `this server's graph has no sensor or schedule named ${JSON.stringify(name)}: GET /api/v1/sensors and /api/v1/schedules list them`
      })
    }
    const state = yield* AutomationState.AutomationState
    const row = yield* http(state.setPaused(name, kind, paused, yield* Clock.currentTimeMillis))
    return { name, kind, paused: row.paused }
  })

export const AutomationsLive: Layer.Layer<
  HttpApiGroup.ApiGroup<"tessera", "automations">,
  never,
  EventLog.EventLog | AutomationState.AutomationState | ServerConfig | Guard
> = HttpApiBuilder.group(TesseraApi, "automations", (handlers) =>
  handlers
    .handle("sensors", () =>
      Effect.flatMap(graphOf, (graph) =>
        http(Effect.map(AutomationOverview.sensors(graph), (sensors) => ({ sensors })))
      )
    )
    .handle("schedules", () =>
      Effect.flatMap(graphOf, (graph) =>
        http(Effect.map(AutomationOverview.schedules(graph), (schedules) => ({ schedules })))
      )
    )
    .handle("pause", ({ path }) => setPaused(path.name, true))
    .handle("resume", ({ path }) => setPaused(path.name, false))
)
