#!/usr/bin/env node
/**
 * The process entry point. `--version` is answered before anything else is imported: the command tree
 * (@effect/cli, effect, @tessera/core) takes most of a second to load, which a version check should not.
 */
import { VERSION } from "./Version.js"

if (process.argv.length === 3 && process.argv[2] === "--version") process.stdout.write(`${VERSION}\n`)
else await import("./Main.js")
