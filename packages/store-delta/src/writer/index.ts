export { writeCheckpoint, checkpointSchema, checkpointSchemaFor, type CheckpointResult } from "./Checkpoint.js"
export { commitLoop, putIfAbsent, serializeActions, type CommitOutcome, type CommitPlan } from "./Commit.js"
export {
  append,
  compact,
  createTable,
  maybeCheckpoint,
  vacuum,
  writeDataFiles,
  type AppendOptions,
  type AppendResult,
  type CompactOptions,
  type CreateTableOptions,
  type VacuumOptions,
  type WrittenFile
} from "./Table.js"
export type { ColumnBatch, ColumnValues, Row, WriteInput } from "./Columns.js"
