import type {
  Action,
  AddFile,
  DeletionVectorDescriptor,
  DomainMetadata,
  Metadata,
  Protocol,
  RemoveFile,
  Txn
} from "./Actions.js"

/** Identifies a deletion vector so that the same data file with and without a DV are distinct entries. */
export const deletionVectorId = (dv: DeletionVectorDescriptor | undefined): string =>
  dv === undefined ? "" : `${dv.storageType}${dv.pathOrInlineDv}${dv.offset === undefined ? "" : `@${dv.offset}`}`

/** Decodes a log path exactly once: `%2520` in the log is `%20` on disk. */
export const decodeLogPath = (path: string): string => decodeURIComponent(path)

export const fileKey = (path: string, dv: DeletionVectorDescriptor | undefined): string =>
  `${decodeLogPath(path)}\u0000${deletionVectorId(dv)}`

/**
 * The reconciled state of a table: the protocol's "Action Reconciliation". Applied in version order
 * (checkpoint first), the newest action for a (path, DV id) wins, and an add clears its tombstone.
 */
export class ReplayState {
  readonly files = new Map<string, AddFile>()
  readonly tombstones = new Map<string, RemoveFile>()
  readonly txns = new Map<string, Txn>()
  readonly domains = new Map<string, DomainMetadata>()
  protocol: Protocol | undefined
  metadata: Metadata | undefined

  apply(action: Action): void {
    switch (action._tag) {
      case "add": {
        const key = fileKey(action.add.path, action.add.deletionVector)
        this.tombstones.delete(key)
        this.files.set(key, action.add)
        return
      }
      case "remove": {
        const key = fileKey(action.remove.path, action.remove.deletionVector)
        this.files.delete(key)
        this.tombstones.set(key, action.remove)
        return
      }
      case "txn":
        this.txns.set(action.txn.appId, action.txn)
        return
      case "protocol":
        this.protocol = action.protocol
        return
      case "metaData":
        this.metadata = action.metaData
        return
      case "domainMetadata":
        if (action.domainMetadata.removed) this.domains.delete(action.domainMetadata.domain)
        else this.domains.set(action.domainMetadata.domain, action.domainMetadata)
        return
      case "commitInfo":
      case "sidecar":
        return
    }
  }

  clone(): ReplayState {
    const copy = new ReplayState()
    for (const [key, value] of this.files) copy.files.set(key, value)
    for (const [key, value] of this.tombstones) copy.tombstones.set(key, value)
    for (const [key, value] of this.txns) copy.txns.set(key, value)
    for (const [key, value] of this.domains) copy.domains.set(key, value)
    copy.protocol = this.protocol
    copy.metadata = this.metadata
    return copy
  }
}
