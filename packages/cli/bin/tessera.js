#!/usr/bin/env node
// The committed, executable entry point: npm links it at install time, before `dist/` is compiled.
import "../dist/bin.js"
