/**
 * Arrow column builders that take a file's decoded values one row group at a time and keep only the
 * Arrow buffers: typed arrays and validity bitmaps for numbers, longs, booleans, timestamps and
 * decimals, one offsets-and-bytes pair for strings and binary. So a read holds the table it returns
 * plus one row group's decoded values, not a JS value per cell.
 */
import * as Arrow from "apache-arrow"
import type { SchemaTree } from "hyparquet"
import { unscaledDecimal } from "../writer/Columns.js"
import type { ColumnMappingMode } from "./ColumnMapping.js"
import { type DataType, decimalPattern } from "./Schema.js"
import { toArrowValue, writeDecimalWords } from "./ArrowTypes.js"
import { timestampMillis, unscaledOf } from "./Values.js"

export interface ColumnBuilder {
  /** Row `row`'s value: a decoded Parquet value, or (for a partition column) the typed partition value. */
  readonly set: (row: number, value: unknown) => void
  /** The Arrow data of the rows `keep` marks (every row when it is undefined). */
  readonly finish: (keep: Uint8Array | undefined, kept: number) => Arrow.Data
}

const bitmapOf = (length: number) => new Uint8Array(Math.ceil(length / 8))
const isSet = (bitmap: Uint8Array, i: number) => (bitmap[i >> 3]! & (1 << (i & 7))) !== 0
const setBit = (bitmap: Uint8Array, i: number) => {
  bitmap[i >> 3]! |= 1 << (i & 7)
}

/** The validity of the kept rows, and how many of them are null. */
const keptValidity = (valid: Uint8Array, length: number, keep: Uint8Array | undefined) => {
  const out = keep === undefined ? valid : bitmapOf(length)
  let j = 0
  let nulls = 0
  const total = keep === undefined ? length : keep.length
  for (let i = 0; i < total; i++) {
    if (keep !== undefined && keep[i] === 0) continue
    const present = isSet(valid, i)
    if (!present) nulls++
    else if (keep !== undefined) setBit(out, j)
    j++
  }
  return { nullBitmap: nulls === 0 ? undefined : out, nullCount: nulls }
}

type Fixed = BigInt64Array | Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array

/** Fixed-width values, `stride` array slots per row, written by `convert` (false: the value does not fit). */
const fixedBuilder = <A extends Fixed>(
  type: Arrow.DataType,
  length: number,
  make: (size: number) => A,
  stride: number,
  convert: (array: A, slot: number, value: unknown) => boolean
): ColumnBuilder => {
  const values = make(length * stride)
  const valid = bitmapOf(length)
  return {
    set: (row, value) => {
      if (value !== null && value !== undefined && convert(values, row * stride, value)) setBit(valid, row)
    },
    finish: (keep, kept) => {
      const { nullBitmap, nullCount } = keptValidity(valid, length, keep)
      let data = values
      if (keep !== undefined) {
        data = make(kept * stride)
        let j = 0
        for (let i = 0; i < length; i++) {
          if (keep[i] === 0) continue
          for (let k = 0; k < stride; k++) data[j * stride + k] = values[i * stride + k]!
          j++
        }
      }
      return Arrow.makeData({ type, length: keep === undefined ? length : kept, nullCount, nullBitmap, data } as never)
    }
  }
}

const booleanBuilder = (length: number): ColumnBuilder => {
  const values = bitmapOf(length)
  const valid = bitmapOf(length)
  return {
    set: (row, value) => {
      if (typeof value !== "boolean") return
      setBit(valid, row)
      if (value) setBit(values, row)
    },
    finish: (keep, kept) => {
      const { nullBitmap, nullCount } = keptValidity(valid, length, keep)
      let data = values
      if (keep !== undefined) {
        data = bitmapOf(kept)
        let j = 0
        for (let i = 0; i < length; i++) {
          if (keep[i] === 0) continue
          if (isSet(values, i)) setBit(data, j)
          j++
        }
      }
      return Arrow.makeData({
        type: new Arrow.Bool(),
        length: keep === undefined ? length : kept,
        nullCount,
        nullBitmap,
        data
      })
    }
  }
}

const utf8 = new TextEncoder()

/** Strings or bytes: the values' bytes end to end, and where each row's end. Rows come in order. */
const bytesBuilder = (type: Arrow.Utf8 | Arrow.Binary, length: number): ColumnBuilder => {
  let bytes = new Uint8Array(1024)
  let used = 0
  const ends = new Int32Array(length)
  const valid = bitmapOf(length)
  let next = 0
  const fillTo = (row: number) => {
    for (; next < row; next++) ends[next] = used
  }
  return {
    set: (row, value) => {
      fillTo(row)
      const piece = value instanceof Uint8Array ? value : typeof value === "string" ? utf8.encode(value) : undefined
      if (piece !== undefined) {
        if (used + piece.byteLength > bytes.byteLength) {
          const grown = new Uint8Array(Math.max(bytes.byteLength * 2, used + piece.byteLength))
          grown.set(bytes.subarray(0, used))
          bytes = grown
        }
        bytes.set(piece, used)
        used += piece.byteLength
        setBit(valid, row)
      }
      ends[row] = used
      next = row + 1
    },
    finish: (keep, kept) => {
      fillTo(length)
      const { nullBitmap, nullCount } = keptValidity(valid, length, keep)
      const rows = keep === undefined ? length : kept
      const valueOffsets = new Int32Array(rows + 1)
      let data = bytes.subarray(0, used)
      if (keep === undefined) valueOffsets.set(ends, 1)
      else {
        data = new Uint8Array(used)
        let j = 0
        let size = 0
        for (let i = 0; i < length; i++) {
          if (keep[i] === 0) continue
          const start = i === 0 ? 0 : ends[i - 1]!
          data.set(bytes.subarray(start, ends[i]!), size)
          size += ends[i]! - start
          valueOffsets[++j] = size
        }
        data = data.subarray(0, size)
      }
      const props = { length: rows, nullCount, nullBitmap, valueOffsets, data }
      return type instanceof Arrow.Utf8 ? Arrow.makeData({ type, ...props }) : Arrow.makeData({ type, ...props })
    }
  }
}

/** Dates and nested columns: each row's value as Arrow's builders take it, built into vectors at the end. */
const nestedBuilder = (
  type: DataType,
  arrowType: Arrow.DataType,
  length: number,
  node: SchemaTree | undefined,
  mode: ColumnMappingMode
): ColumnBuilder => {
  const values = new Array<unknown>(length).fill(null)
  return {
    set: (row, value) => {
      values[row] = toArrowValue(value, type, node, mode)
    },
    finish: (keep) =>
      Arrow.vectorFromArray(keep === undefined ? values : values.filter((_, i) => keep[i] === 1), arrowType).data[0]!
  }
}

const setNumber = (
  array: Float64Array | Float32Array | Int32Array | Int16Array | Int8Array,
  slot: number,
  value: unknown
) => {
  if (typeof value !== "number" && typeof value !== "bigint") return false
  array[slot] = Number(value)
  return true
}

/**
 * A builder for one column of `length` rows. `node` is the column in the file's schema (absent for a
 * partition column, whose values are already typed), `mode` the table's column mapping.
 */
export const columnBuilder = (
  type: DataType,
  arrowType: Arrow.DataType,
  length: number,
  node: SchemaTree | undefined,
  mode: ColumnMappingMode,
  partition: boolean
): ColumnBuilder => {
  if (arrowType instanceof Arrow.Decimal) {
    const decimal = decimalPattern.exec(type as string)!
    const precision = Number(decimal[1])
    const scale = Number(decimal[2])
    return fixedBuilder(
      arrowType,
      length,
      (size) => new Uint32Array(size),
      4,
      (array, slot, value) => {
        const unscaled = partition ? unscaledDecimal(value, precision, scale) : unscaledOf(value, scale, node)
        if (unscaled === undefined) return false
        writeDecimalWords(array, slot, unscaled)
        return true
      }
    )
  }
  switch (type) {
    case "string":
      return bytesBuilder(new Arrow.Utf8(), length)
    case "binary":
      return bytesBuilder(new Arrow.Binary(), length)
    case "boolean":
      return booleanBuilder(length)
    case "long":
      return fixedBuilder(
        arrowType,
        length,
        (size) => new BigInt64Array(size),
        1,
        (array, slot, value) => {
          if (typeof value === "bigint") array[slot] = value
          else if (typeof value === "number") array[slot] = BigInt(value)
          else return false
          return true
        }
      )
    case "timestamp":
    case "timestamp_ntz":
      // Milliseconds, as Arrow holds these timestamps here; a partition value is already a Date.
      return fixedBuilder(
        arrowType,
        length,
        (size) => new BigInt64Array(size),
        1,
        (array, slot, value) => {
          const millis = timestampMillis(value, node)
          if (millis === undefined) return false
          array[slot] = BigInt(millis)
          return true
        }
      )
    case "double":
      return fixedBuilder(arrowType, length, (size) => new Float64Array(size), 1, setNumber)
    case "float":
      return fixedBuilder(arrowType, length, (size) => new Float32Array(size), 1, setNumber)
    case "integer":
      return fixedBuilder(arrowType, length, (size) => new Int32Array(size), 1, setNumber)
    case "short":
      return fixedBuilder(arrowType, length, (size) => new Int16Array(size), 1, setNumber)
    case "byte":
      return fixedBuilder(arrowType, length, (size) => new Int8Array(size), 1, setNumber)
    default:
      return nestedBuilder(type, arrowType, length, node, mode)
  }
}
