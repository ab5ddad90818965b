export { layer, make, type DeltaEventLogOptions } from "./store.js"
export { eventPartitionColumns, eventSchema, eventStatsColumns } from "./table.js"
