/**
 * Deletion vectors: the rows of a data file that the log marks deleted without rewriting the file.
 * The protocol's "Deletion Vector Format": a RoaringBitmapArray (magic number, then the portable 64-bit
 * Roaring layout, which is a count and a sequence of 32-bit portable Roaring bitmaps keyed by their
 * high 32 bits), stored inline (Z85 text) or in a file (version byte, then per vector a big-endian size,
 * the bitmap and a CRC-32 of it).
 */
import { Effect } from "effect"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { crc32 } from "node:zlib"
import { CorruptDeletionVector, type DeltaIOError } from "../Errors.js"
import { io } from "../Fs.js"
import type { DeletionVectorDescriptor } from "./Actions.js"
import { decodeLogPath } from "./Replay.js"

const MAGIC = 1681511377
const Z85_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
const Z85_VALUES = new Map(Array.from(Z85_ALPHABET, (char, index) => [char, index]))

/**
 * Z85 (ZeroMQ's Base85), the encoding of inline vectors and of on-disk vectors' UUIDs. Its whole spec is
 * this loop; the npm packages for it are unmaintained, so it is not worth a dependency.
 */
export const decodeZ85 = (text: string): Uint8Array | undefined => {
  if (text.length % 5 !== 0) return undefined
  const out = new Uint8Array((text.length / 5) * 4)
  const view = new DataView(out.buffer)
  for (let block = 0; block < text.length / 5; block++) {
    let value = 0
    for (let i = 0; i < 5; i++) {
      const digit = Z85_VALUES.get(text[block * 5 + i]!)
      if (digit === undefined) return undefined
      value = value * 85 + digit
    }
    if (value > 0xffffffff) return undefined
    view.setUint32(block * 4, value)
  }
  return out
}

/** `<random prefix><20 Z85 characters of the UUID>` to `<prefix>/deletion_vector_<uuid>.bin`. */
export const deletionVectorFileName = (pathOrInlineDv: string): string | undefined => {
  const prefix = pathOrInlineDv.slice(0, -20)
  const bytes = decodeZ85(pathOrInlineDv.slice(-20))
  if (bytes === undefined || pathOrInlineDv.length < 20) return undefined
  const hex = Buffer.from(bytes).toString("hex")
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  return Path.join(prefix, `deletion_vector_${uuid}.bin`)
}

const SERIAL_COOKIE_NO_RUNCONTAINER = 12346
const SERIAL_COOKIE = 12347
const NO_OFFSET_THRESHOLD = 4

/**
 * One 32-bit Roaring bitmap in the portable format (RoaringFormatSpec), checked as it is read: bounds,
 * ascending keys and values, header cardinalities. Returns the values and the bytes it took, since the
 * 64-bit layout does not say where each bucket ends.
 */
const decodePortable32 = (view: DataView, start: number): { values: Array<number>; end: number } | string => {
  let at = start
  const need = (bytes: number) => at + bytes <= view.byteLength
  if (!need(4)) return "a bucket ends before its cookie"
  const cookie = view.getUint32(at, true)
  at += 4
  let size: number
  let runs: Uint8Array | undefined
  if ((cookie & 0xffff) === SERIAL_COOKIE) {
    size = (cookie >>> 16) + 1
    const bytes = Math.ceil(size / 8)
    if (!need(bytes)) return "a bucket ends inside its run bitset"
    runs = new Uint8Array(view.buffer, view.byteOffset + at, bytes)
    at += bytes
  } else if (cookie === SERIAL_COOKIE_NO_RUNCONTAINER) {
    if (!need(4)) return "a bucket ends before its container count"
    size = view.getUint32(at, true)
    at += 4
  } else {
    return `cookie ${cookie} is not a portable Roaring bitmap's`
  }
  if (size > 65536 || !need(size * 4)) return `a bucket claims ${size} containers past the end of the data`
  const keys: Array<number> = []
  const cardinalities: Array<number> = []
  for (let i = 0; i < size; i++) {
    keys.push(view.getUint16(at + i * 4, true))
    cardinalities.push(view.getUint16(at + i * 4 + 2, true) + 1)
    if (i > 0 && keys[i]! <= keys[i - 1]!) return "container keys are not ascending"
  }
  at += size * 4
  if (runs === undefined || size >= NO_OFFSET_THRESHOLD) at += size * 4
  const values: Array<number> = []
  for (let i = 0; i < size; i++) {
    const high = keys[i]! * 65536
    const before = values.length
    const isRun = runs !== undefined && (runs[i >> 3]! & (1 << (i & 7))) !== 0
    if (isRun) {
      if (!need(2)) return "a run container ends before its run count"
      const count = view.getUint16(at, true)
      at += 2
      if (!need(count * 4)) return "a run container ends before its runs"
      let floor = 0
      for (let r = 0; r < count; r++) {
        const first = view.getUint16(at + r * 4, true)
        const last = first + view.getUint16(at + r * 4 + 2, true)
        if (first < floor || last > 65535) return "runs overlap or leave their container"
        for (let v = first; v <= last; v++) values.push(high + v)
        floor = last + 2
      }
      at += count * 4
    } else if (cardinalities[i]! <= 4096) {
      const count = cardinalities[i]!
      if (!need(count * 2)) return "an array container ends before its values"
      for (let v = 0; v < count; v++) {
        const low = view.getUint16(at + v * 2, true)
        if (v > 0 && high + low <= values[values.length - 1]!) return "array container values are not ascending"
        values.push(high + low)
      }
      at += count * 2
    } else {
      if (!need(8192)) return "a bitmap container ends before its 8 KiB"
      for (let word = 0; word < 2048; word++) {
        let bits = view.getUint32(at + word * 4, true)
        while (bits !== 0) {
          const bit = 31 - Math.clz32(bits & -bits)
          values.push(high + word * 32 + bit)
          bits &= bits - 1
        }
      }
      at += 8192
    }
    if (values.length - before !== cardinalities[i])
      return "a container holds more or fewer values than its header says"
  }
  return { values, end: at }
}

/**
 * Decodes a RoaringBitmapArray into the sorted row indexes it holds, checking every bound: a damaged
 * or hostile vector is an error message, never a crash or a wrong row set.
 */
export const decodeRoaringBitmapArray = (bytes: Uint8Array): Float64Array | string => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.byteLength < 12) return `${bytes.byteLength} bytes is too short for a RoaringBitmapArray`
  const magic = view.getUint32(0, true)
  if (magic !== MAGIC) return `magic number ${magic} is not the RoaringBitmapArray's ${MAGIC}`
  const buckets = view.getBigUint64(4, true)
  if (buckets > BigInt(bytes.byteLength)) return `it claims ${buckets} buckets in ${bytes.byteLength} bytes`
  const rows: Array<number> = []
  let offset = 12
  let previousKey = -1
  for (let bucket = 0; bucket < Number(buckets); bucket++) {
    if (offset + 4 > bytes.byteLength) return `bucket ${bucket} starts past the end of the data`
    const key = view.getUint32(offset, true)
    if (key <= previousKey || key > 0x7fffffff) return `bucket key ${key} is out of order or negative`
    previousKey = key
    const decoded = decodePortable32(view, offset + 4)
    if (typeof decoded === "string") return `bucket ${bucket}: ${decoded}`
    const high = key * 2 ** 32
    for (const low of decoded.values) rows.push(high + low)
    offset = decoded.end
  }
  return Float64Array.from(rows)
}

const readRange = (path: string, offset: number, length: number) =>
  io("read deletion vector", path, async () => {
    const handle = await NodeFs.open(path, "r")
    try {
      const buffer = new Uint8Array(length)
      const { bytesRead } = await handle.read(buffer, 0, length, offset)
      return buffer.subarray(0, bytesRead)
    } finally {
      await handle.close()
    }
  })

/** Where an on-disk vector is: `u` relative to the table, `p` a path like an add's; inline ones have none. */
export const vectorFile = (tablePath: string, dv: DeletionVectorDescriptor): string | undefined => {
  if (dv.storageType === "u") {
    const name = deletionVectorFileName(dv.pathOrInlineDv)
    return name === undefined ? undefined : Path.join(tablePath, name)
  }
  const path = decodeLogPath(dv.pathOrInlineDv)
  if (path.startsWith("file:")) return new URL(path).pathname
  return Path.isAbsolute(path) ? path : Path.join(tablePath, path)
}

/**
 * The row indexes a deletion vector removes from its data file, sorted. The bitmap's checksum, size and
 * cardinality are checked against the descriptor, so a damaged vector is an error, never rows silently
 * returned or lost.
 */
export const readDeletionVector = (
  tablePath: string,
  dataFile: string,
  dv: DeletionVectorDescriptor
): Effect.Effect<Float64Array, CorruptDeletionVector | DeltaIOError> =>
  Effect.gen(function* () {
    const corrupt = (reason: string) => new CorruptDeletionVector({ path: tablePath, dataFile, reason })
    let bitmap: Uint8Array
    if (dv.storageType === "i") {
      const bytes = decodeZ85(dv.pathOrInlineDv)
      if (bytes === undefined) return yield* corrupt("the inline vector is not Z85 text")
      bitmap = bytes.subarray(0, dv.sizeInBytes)
    } else if (dv.storageType === "u" || dv.storageType === "p") {
      const file = vectorFile(tablePath, dv)
      if (file === undefined) return yield* corrupt(`"${dv.pathOrInlineDv}" does not name a deletion vector file`)
      // Byte 0 of a vector file is its format version, so the first vector is at 1 when no offset is given.
      const offset = dv.offset ?? 1
      const framed = yield* readRange(file, offset, dv.sizeInBytes + 8)
      if (framed.byteLength < dv.sizeInBytes + 8) {
        return yield* corrupt(`${file} ends before the ${dv.sizeInBytes}-byte vector at offset ${offset}`)
      }
      const view = new DataView(framed.buffer, framed.byteOffset, framed.byteLength)
      const size = view.getUint32(0)
      if (size !== dv.sizeInBytes) {
        return yield* corrupt(`${file} holds ${size} bytes at offset ${offset}, the log says ${dv.sizeInBytes}`)
      }
      bitmap = framed.subarray(4, 4 + size)
      const checksum = view.getUint32(4 + size)
      if (crc32(bitmap) !== checksum) return yield* corrupt(`${file}: the CRC-32 at offset ${offset} does not match`)
    } else {
      return yield* corrupt(`storage type "${dv.storageType}" is not one of u, i, p`)
    }
    const rows = decodeRoaringBitmapArray(bitmap)
    if (typeof rows === "string") return yield* corrupt(rows)
    if (rows.length !== dv.cardinality) {
      return yield* corrupt(`the vector holds ${rows.length} rows, the log's cardinality is ${dv.cardinality}`)
    }
    return rows
  })
