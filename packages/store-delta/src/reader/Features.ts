import { Option } from "effect"
import type { Metadata, Protocol } from "./Actions.js"

/** Reader features this library implements. The rest make a table unreadable here. */
export const supportedReaderFeatures: ReadonlySet<string> = new Set([
  "v2Checkpoint",
  "timestampNtz",
  "vacuumProtocolCheck"
])

export interface MissingFeature {
  readonly feature: string
  readonly detail: string
}

const columnMappingMode = (metadata: Metadata) => metadata.configuration?.["delta.columnMapping.mode"] ?? "none"

/** The first reader feature the table needs and this reader lacks, following the protocol's feature rules. */
export const missingReaderFeature = (protocol: Protocol, metadata: Metadata): Option.Option<MissingFeature> => {
  const { minReaderVersion } = protocol
  if (minReaderVersion > 3) {
    return Option.some({
      feature: `readerVersion${minReaderVersion}`,
      detail: `minReaderVersion ${minReaderVersion} is newer than the highest this reader knows (3)`
    })
  }
  const mode = columnMappingMode(metadata)
  if (minReaderVersion >= 2 && mode !== "none") {
    return Option.some({
      feature: "columnMapping",
      detail: `column mapping mode "${mode}" renames physical parquet columns; this reader reads them by logical name only`
    })
  }
  if (minReaderVersion === 3) {
    for (const feature of protocol.readerFeatures ?? []) {
      if (feature === "columnMapping" && mode === "none") continue
      if (!supportedReaderFeatures.has(feature)) {
        return Option.some({ feature, detail: `reader feature "${feature}" is listed in the table's protocol` })
      }
    }
  }
  return Option.none()
}

/**
 * What a writer limited to protocol 1/2 may not touch: any newer writer version, since it implies
 * invariants, constraints, generated columns or table features whose rules this writer does not enforce.
 */
export const missingWriterFeature = (protocol: Protocol): Option.Option<MissingFeature> =>
  protocol.minWriterVersion > 2
    ? Option.some({
        feature: protocol.writerFeatures?.length
          ? `writerFeatures [${protocol.writerFeatures.join(", ")}]`
          : `writerVersion${protocol.minWriterVersion}`,
        detail: `minWriterVersion ${protocol.minWriterVersion} needs rules this writer (version 2) does not enforce`
      })
    : Option.none()
