export * from "./actions.js"
export * from "./schema.js"
export * from "./stats.js"
export { readCommit, loadSnapshot, type ActiveFile, type Snapshot, type SnapshotOptions } from "./snapshot.js"
export {
  classifyLogFiles,
  commitFileName,
  checkpointFileName,
  parseLastCheckpoint,
  type LastCheckpointHint
} from "./listing.js"
export { supportedReaderFeatures } from "./features.js"
export * from "./scan.js"
export { arrowTypeOf, readArrow } from "./arrow.js"
