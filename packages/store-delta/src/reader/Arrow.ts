/**
 * Reading a Delta table as an Apache Arrow `Table`, for analytics code that speaks Arrow. Files are read
 * a row group at a time (no row objects on the way), several files at a time, and each file's columns
 * become one chunk of the table's vectors.
 */
import * as Arrow from "apache-arrow"
import { Effect } from "effect"
import type { RowGroup, SchemaTree } from "hyparquet"
import { type ColumnMappingMode, findChild } from "./ColumnMapping.js"
import { primitiveTypes } from "./Features.js"
import { readDeletionVector } from "./DeletionVectors.js"
import { type ColumnBuilder, columnBuilder } from "./ArrowColumns.js"
import { readParquetColumnChunks } from "./Parquet.js"
import { boundsMayMatch, type ColumnRange, inRange, pruneFiles, type ScanOptions } from "./Scan.js"
import { arrowTypeOf } from "./ArrowTypes.js"
import type { DataType, StructField, Value } from "./Schema.js"
import type { ActiveFile, Snapshot } from "./Snapshot.js"
import { toDeltaValue } from "./Values.js"

const textOf = new TextDecoder()

/**
 * Primitive types' Parquet footer bounds compare as the filter's values do (a binary bound, which
 * hyparquet gives as text, never excludes anything); decimals' bounds are doubles there, so they
 * never skip a row group.
 */
const bounded = (type: DataType) => typeof type === "string" && primitiveTypes.has(type)

/**
 * Whether a row group may hold rows the filter keeps, by its footer's statistics: only a bound that
 * excludes a range skips it; a column without statistics keeps it.
 */
const rowGroupMayMatch = (
  group: RowGroup,
  tree: SchemaTree,
  fields: ReadonlyArray<StructField>,
  where: ReadonlyArray<ColumnRange>,
  mode: ColumnMappingMode
): boolean =>
  where.every((range) => {
    const field = fields.find((candidate) => candidate.name === range.column)
    if (field === undefined || !bounded(field.type)) return true
    const name = findChild(tree, field, mode)?.element.name
    const chunk = group.columns.find((column) => column.meta_data?.path_in_schema.join(".") === name)
    const stats = chunk?.meta_data?.statistics
    if (stats === undefined) return true
    const bound = (value: unknown) => (value === undefined || value === null ? undefined : (value as Value))
    return boundsMayMatch(bound(stats.min_value), bound(stats.max_value), range)
  })

/**
 * One file's columns as Arrow data, less the rows its deletion vector removes and the filter excludes.
 * Values go from each row group's decoded chunks straight into the column builders.
 */
const readFileColumns = (
  snapshot: Snapshot,
  file: ActiveFile,
  fields: ReadonlyArray<StructField>,
  where: ReadonlyArray<ColumnRange>
) =>
  Effect.gen(function* () {
    const mode = snapshot.columnMapping
    const dataFields = fields.filter((field) => !snapshot.partitionColumns.includes(field.name))
    const filtered = new Set(where.map((range) => range.column))
    const builders = new Map<string, ColumnBuilder>()
    // The filter compares values as rows hold them, so its columns are also kept as Delta values.
    const filterValues = new Map<string, Array<unknown>>()
    const dv = file.add.deletionVector
    const [{ numRows, skipped }, deleted] = yield* Effect.all(
      [
        readParquetColumnChunks(
          file.absolutePath,
          (tree) => dataFields.flatMap((field) => findChild(tree, field, mode)?.element.name ?? []),
          (tree, numRows) => {
            const byFileName = new Map<string, (row: number, value: unknown) => void>()
            for (const field of fields) {
              const partition = snapshot.partitionColumns.includes(field.name)
              const node = partition ? undefined : findChild(tree, field, mode)
              const builder = columnBuilder(field.type, arrowTypeOf(field.type), numRows, node, mode, partition)
              builders.set(field.name, builder)
              const values = filtered.has(field.name) ? new Array<unknown>(numRows).fill(null) : undefined
              if (values !== undefined) filterValues.set(field.name, values)
              if (partition) {
                const value = file.partitionValues[field.name] ?? null
                for (let i = 0; i < numRows; i++) builder.set(i, value)
                values?.fill(value)
              } else if (node !== undefined) {
                byFileName.set(node.element.name, (row, value) => {
                  builder.set(row, value)
                  if (values !== undefined) values[row] = toDeltaValue(value, field.type, node, mode)
                })
              }
            }
            return (column, rowStart, chunk) => {
              const set = byFileName.get(column)
              if (set !== undefined) for (let i = 0; i < chunk.length; i++) set(rowStart + i, chunk[i])
            }
          },
          (group, tree) => !rowGroupMayMatch(group, tree, fields, where, mode)
        ),
        dv === undefined ? Effect.succeed(new Float64Array(0)) : readDeletionVector(snapshot.tablePath, file.path, dv)
      ],
      { concurrency: 2 }
    )
    let keep: Uint8Array | undefined
    let kept = numRows
    if (deleted.length > 0 || where.length > 0) {
      keep = new Uint8Array(numRows).fill(1)
      for (const row of deleted) keep[row] = 0
      for (const { start, end } of skipped) keep.fill(0, start, end)
      for (const range of where) {
        const values = filterValues.get(range.column)
        for (let i = 0; i < numRows; i++) {
          const value = values?.[i] ?? null
          if (keep[i] === 1 && !inRange((value instanceof Uint8Array ? textOf.decode(value) : value) as Value, range)) {
            keep[i] = 0
          }
        }
      }
      kept = keep.reduce((sum, bit) => sum + bit, 0)
    }
    const columns = new Map<string, Arrow.Data>()
    for (const [name, builder] of builders) columns.set(name, builder.finish(keep, kept))
    return columns
  })

/** Every matching row of the snapshot as one Arrow table, columns typed by the table's schema. */
export const readArrow = Effect.fn("Delta.readArrow")(function* (snapshot: Snapshot, options: ScanOptions = {}) {
  const wanted = options.columns === undefined ? undefined : new Set(options.columns)
  const where = options.where ?? []
  const fields = snapshot.schema.fields.filter((field) => wanted === undefined || wanted.has(field.name))
  const readFields = snapshot.schema.fields.filter(
    (field) => wanted === undefined || wanted.has(field.name) || where.some((range) => range.column === field.name)
  )
  const perFile = yield* Effect.forEach(
    pruneFiles(snapshot, where),
    (file) => readFileColumns(snapshot, file, readFields, where),
    { concurrency: 4 }
  )
  const columns: Record<string, Arrow.Vector> = {}
  for (const field of fields) {
    // One chunk per file: the files' buffers become the table's without a copy.
    const chunks = perFile.flatMap((file) => file.get(field.name) ?? [])
    columns[field.name] =
      chunks.length === 0 ? Arrow.vectorFromArray([], arrowTypeOf(field.type)) : Arrow.makeVector(chunks)
  }
  return new Arrow.Table(columns)
})
