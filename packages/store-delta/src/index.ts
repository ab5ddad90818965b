export * from "./errors.js"
export * from "./reader/index.js"
