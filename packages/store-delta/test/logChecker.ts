import { expect } from "@effect/vitest"
import { Effect } from "effect"
import { asyncBufferFromFile, parquetMetadataAsync } from "hyparquet"
import { existsSync } from "node:fs"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"

const actionKinds = new Set(["add", "remove", "metaData", "protocol", "txn", "commitInfo"])
const isInt = (value: unknown) => typeof value === "number" && Number.isInteger(value)
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const fail = (where: string, what: string): never => {
  throw new Error(`${where}: ${what}`)
}

const checkPath = (where: string, path: unknown, tablePath: string, mustExist: boolean) => {
  if (typeof path !== "string" || path === "") fail(where, "path must be a non-empty string")
  const text = path as string
  if (text.startsWith("/") || /^[a-z]+:/i.test(text)) fail(where, `path ${text} must be relative`)
  const decoded = decodeURIComponent(text)
  if (encodeURI(decoded) !== text) fail(where, `path ${text} is not URI-encoded exactly once`)
  if (mustExist && !existsSync(Path.join(tablePath, decoded))) fail(where, `data file ${decoded} does not exist`)
}

const checkStats = (where: string, stats: unknown, dataColumns: ReadonlySet<string>) => {
  if (typeof stats !== "string") fail(where, "stats must be a JSON string")
  const json = JSON.parse(stats as string) as unknown
  if (!isRecord(json) || !isInt(json.numRecords)) fail(where, "stats.numRecords must be an integer")
  const record = json as Record<string, unknown>
  for (const key of ["minValues", "maxValues", "nullCount"]) {
    const part = record[key]
    if (!isRecord(part)) fail(where, `stats.${key} must be an object`)
    for (const [column, value] of Object.entries(part as Record<string, unknown>)) {
      if (!dataColumns.has(column)) fail(where, `stats.${key} names ${column}, not a data column`)
      if (key === "nullCount" && !isInt(value)) fail(where, `stats.nullCount.${column} must be an integer`)
    }
  }
}

/**
 * A strict checker for logs this writer produces: file names, contiguous versions, one protocol and
 * metaData in version 0, each action's fields and types, relative URI-encoded paths, the stats shape,
 * and the checkpoint schema.
 */
export const checkLog = (tablePath: string) =>
  Effect.promise(async () => {
    const dir = Path.join(tablePath, "_delta_log")
    const names = (await NodeFs.readdir(dir)).sort()
    const commits: Array<number> = []
    for (const name of names) {
      if (/^\d{20}\.json$/.test(name)) commits.push(Number(name.slice(0, 20)))
      else if (!/^\d{20}\.checkpoint\.parquet$/.test(name) && name !== "_last_checkpoint") {
        fail(name, "unexpected file in _delta_log (a leftover temp file?)")
      }
    }
    for (const [index, version] of commits.entries()) expect(version, "versions are contiguous from 0").toBe(index)
    let partitionColumns: ReadonlyArray<string> = []
    let dataColumns = new Set<string>()
    const active = new Set<string>()
    for (const version of commits) {
      const where = `commit ${version}`
      const text = await NodeFs.readFile(Path.join(dir, `${String(version).padStart(20, "0")}.json`), "utf8")
      expect(text.endsWith("\n"), `${where} ends with a newline`).toBe(true)
      const lines = text.trimEnd().split("\n")
      const counts = new Map<string, number>()
      const added = new Set<string>()
      for (const line of lines) {
        const json = JSON.parse(line) as unknown
        if (!isRecord(json) || Object.keys(json).length !== 1) fail(where, `line ${line} must hold exactly one action`)
        const [kind, body] = Object.entries(json as Record<string, unknown>)[0]!
        if (!actionKinds.has(kind)) fail(where, `unknown action ${kind}`)
        if (!isRecord(body)) fail(where, `${kind} must be an object`)
        const action = body as Record<string, unknown>
        counts.set(kind, (counts.get(kind) ?? 0) + 1)
        switch (kind) {
          case "protocol":
            expect(action, `${where} protocol`).toEqual({ minReaderVersion: 1, minWriterVersion: 2 })
            break
          case "metaData": {
            if (typeof action.id !== "string") fail(where, "metaData.id must be a string")
            expect(action.format).toEqual({ provider: "parquet", options: {} })
            const schema = JSON.parse(action.schemaString as string) as {
              type: string
              fields: Array<{ name: string }>
            }
            expect(schema.type).toBe("struct")
            if (!Array.isArray(action.partitionColumns)) fail(where, "metaData.partitionColumns must be an array")
            partitionColumns = action.partitionColumns as Array<string>
            dataColumns = new Set(schema.fields.map((f) => f.name).filter((n) => !partitionColumns.includes(n)))
            if (!isRecord(action.configuration)) fail(where, "metaData.configuration must be an object")
            if (!isInt(action.createdTime)) fail(where, "metaData.createdTime must be an integer")
            break
          }
          case "add": {
            checkPath(where, action.path, tablePath, false)
            if (added.has(action.path as string)) fail(where, `path ${action.path} added twice`)
            added.add(action.path as string)
            active.add(action.path as string)
            if (!isRecord(action.partitionValues)) fail(where, "add.partitionValues must be an object")
            expect(Object.keys(action.partitionValues as object).sort()).toEqual([...partitionColumns].sort())
            for (const value of Object.values(action.partitionValues as object)) {
              if (value !== null && typeof value !== "string") fail(where, "partition values are strings or null")
            }
            if (!isInt(action.size) || (action.size as number) <= 0) fail(where, "add.size must be a positive integer")
            if (!isInt(action.modificationTime)) fail(where, "add.modificationTime must be an integer")
            if (typeof action.dataChange !== "boolean") fail(where, "add.dataChange must be a boolean")
            checkStats(where, action.stats, dataColumns)
            break
          }
          case "remove":
            checkPath(where, action.path, tablePath, false)
            active.delete(action.path as string)
            if (!isInt(action.deletionTimestamp)) fail(where, "remove.deletionTimestamp must be an integer")
            if (typeof action.dataChange !== "boolean") fail(where, "remove.dataChange must be a boolean")
            break
          case "txn":
            if (typeof action.appId !== "string" || !isInt(action.version)) fail(where, "txn needs appId and version")
            break
          case "commitInfo":
            if (!isInt(action.timestamp) || typeof action.operation !== "string") {
              fail(where, "commitInfo needs timestamp and operation")
            }
            break
        }
      }
      expect(counts.get("commitInfo"), `${where} has one commitInfo`).toBe(1)
      if (version === 0) {
        expect(counts.get("protocol"), "version 0 has one protocol").toBe(1)
        expect(counts.get("metaData"), "version 0 has one metaData").toBe(1)
      } else {
        expect(counts.get("protocol") ?? 0).toBe(0)
      }
    }
    for (const path of active) checkPath("snapshot", path, tablePath, true)
    for (const name of names.filter((n) => n.endsWith(".checkpoint.parquet"))) {
      const metadata = await parquetMetadataAsync(await asyncBufferFromFile(Path.join(dir, name)))
      const top = new Map<string, number>()
      let index = 1
      while (index < metadata.schema.length) {
        const element = metadata.schema[index]!
        top.set(element.name, index)
        // Skip the whole subtree of this top-level column.
        let pending = element.num_children ?? 0
        index++
        while (pending > 0) {
          pending += (metadata.schema[index]!.num_children ?? 0) - 1
          index++
        }
      }
      expect([...top.keys()].sort(), `${name} top-level columns`).toEqual([
        "add",
        "metaData",
        "protocol",
        "remove",
        "txn"
      ])
      const addIndex = top.get("add")!
      const addChildren = metadata.schema
        .slice(addIndex + 1)
        .filter((element) =>
          ["path", "partitionValues", "size", "modificationTime", "dataChange", "stats"].includes(element.name)
        )
        .map((element) => element.name)
      for (const required of ["path", "partitionValues", "size", "modificationTime", "dataChange", "stats"]) {
        expect(addChildren, `${name} add.${required}`).toContain(required)
      }
    }
    if (names.includes("_last_checkpoint")) {
      const hint = JSON.parse(await NodeFs.readFile(Path.join(dir, "_last_checkpoint"), "utf8")) as Record<
        string,
        unknown
      >
      if (!isInt(hint.version) || !isInt(hint.size)) fail("_last_checkpoint", "needs integer version and size")
      const checkpoint = Path.join(dir, `${String(hint.version).padStart(20, "0")}.checkpoint.parquet`)
      const metadata = await parquetMetadataAsync(await asyncBufferFromFile(checkpoint))
      expect(Number(metadata.num_rows), "_last_checkpoint.size is the checkpoint's row count").toBe(hint.size)
    }
  })
