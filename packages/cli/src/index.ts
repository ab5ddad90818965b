/**
 * @tessera/cli: the `tessera` command, as a command tree that tests and other programs can run.
 */
export * as Cli from "./Cli.js"
export * as ExitCode from "./ExitCode.js"
export * as Settings from "./config/Settings.js"
export * as Store from "./config/Store.js"
export * as Progress from "./render/Progress.js"
export * as DeltaArchive from "./retention/DeltaArchive.js"
export * as Retention from "./retention/Retention.js"
export * as Scaffold from "./scaffold/Scaffold.js"
export * from "./Errors.js"
export * as AutomationTable from "./automation/AutomationTable.js"
export * as Daemon from "./automation/Daemon.js"
export * as FileSensor from "./automation/FileSensor.js"
