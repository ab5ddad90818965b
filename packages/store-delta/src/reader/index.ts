export * from "./Actions.js"
export * from "./Schema.js"
export * from "./Stats.js"
export { readCommit, loadSnapshot, type ActiveFile, type Snapshot, type SnapshotOptions } from "./Snapshot.js"
export {
  classifyLogFiles,
  commitFileName,
  checkpointFileName,
  parseLastCheckpoint,
  type LastCheckpointHint
} from "./Listing.js"
export { supportedReaderFeatures } from "./Features.js"
export * from "./Scan.js"
export { arrowTypeOf, readArrow } from "./Arrow.js"
