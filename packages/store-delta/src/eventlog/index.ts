export { compactLog, layer, make, type DeltaEventLogOptions } from "./Store.js"
export { eventPartitionColumns, eventSchema, eventStatsColumns, toRow } from "./Table.js"
