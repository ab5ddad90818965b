export { writeCheckpoint, checkpointSchema, type CheckpointResult } from "./checkpoint.js"
export { commitLoop, putIfAbsent, serializeActions, type CommitOutcome, type CommitPlan } from "./commit.js"
export {
  append,
  compact,
  createTable,
  maybeCheckpoint,
  vacuum,
  writeDataFiles,
  writerProtocol,
  type AppendOptions,
  type AppendResult,
  type CompactOptions,
  type CreateTableOptions,
  type VacuumOptions,
  type WrittenFile
} from "./table.js"
export type { Row } from "./dataFile.js"
