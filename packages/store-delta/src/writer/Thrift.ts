/**
 * Thrift's compact protocol, the few parts the Parquet writer's hot path writes by hand (footers and
 * page headers): fields in increasing id order, typed by the caller instead of inferred per value.
 */
import type { ByteWriter } from "hyparquet-writer"

// Thrift compact protocol type codes.
export const I32 = 5
const I64 = 6
export const BINARY = 8
const LIST = 9
export const STRUCT = 12
export const STOP = 0

/** A binary value (a string as UTF-8): its length as a varint, then its bytes; a field's or a list element's. */
export const writeBinary = (writer: ByteWriter, value: string) => {
  const bytes = Buffer.from(value)
  writer.appendVarInt(bytes.byteLength)
  writer.appendBytes(bytes)
}

/** A struct's fields in increasing id order: each header holds the id's distance from the previous one. */
export class Fields {
  private last: number
  constructor(
    private readonly writer: ByteWriter,
    last = 0
  ) {
    this.last = last
  }
  private header(id: number, type: number) {
    const delta = id - this.last
    if (delta > 0 && delta <= 15) this.writer.appendUint8((delta << 4) | type)
    else {
      this.writer.appendUint8(type)
      this.writer.appendZigZag(id)
    }
    this.last = id
  }
  i32(id: number, value: number | undefined) {
    if (value === undefined) return
    this.header(id, I32)
    this.writer.appendZigZag(value)
  }
  i64(id: number, value: bigint | undefined) {
    if (value === undefined) return
    this.header(id, I64)
    this.writer.appendZigZag(value)
  }
  string(id: number, value: string) {
    this.header(id, BINARY)
    writeBinary(this.writer, value)
  }
  /** A list's header; its `count` elements of `type` follow. */
  list(id: number, type: number, count: number) {
    this.header(id, LIST)
    if (count > 14) {
      this.writer.appendUint8((15 << 4) | type)
      this.writer.appendVarInt(count)
    } else this.writer.appendUint8((count << 4) | type)
  }
  /** A nested struct's header; its fields and stop follow. */
  struct(id: number) {
    this.header(id, STRUCT)
  }
  stop() {
    this.writer.appendUint8(STOP)
  }
}
