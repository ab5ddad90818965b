export * from "./Errors.js"
export * from "./reader/index.js"
export * from "./writer/index.js"
export * as DeltaEventLog from "./eventlog/index.js"
