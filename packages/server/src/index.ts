/**
 * @tessera/server: the Tessera service (`tessera serve`): the scheduler over HTTP, server-sent events
 * and a typed client of its API.
 */
export * from "./api/Api.js"
export * as Bodies from "./api/Bodies.js"
export * from "./api/Errors.js"
export * as Client from "./Client.js"
export * as Prometheus from "./metrics/Prometheus.js"
export * as Server from "./Server.js"
export * as ServerConfig from "./ServerConfig.js"
export * as BuildView from "./views/BuildView.js"
export * as PartitionView from "./views/PartitionView.js"
export * as Subscriptions from "./webhooks/Subscriptions.js"
export * as Webhooks from "./webhooks/Webhooks.js"
