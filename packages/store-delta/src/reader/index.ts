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
export { readArrow } from "./Arrow.js"
export { arrowTypeOf } from "./ArrowTypes.js"
export { decodeRoaringBitmapArray, decodeZ85, deletionVectorFileName, readDeletionVector } from "./DeletionVectors.js"
export { type ColumnMappingMode, physicalName } from "./ColumnMapping.js"
export {
  isSupportedWidening,
  protocolForSchema,
  supportedWriterFeatures,
  writerOnlyFeatures
} from "./Features.js"
