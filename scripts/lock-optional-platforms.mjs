#!/usr/bin/env node
// The registry this project installs from lacks some other-platform builds of optional native
// packages (Biome, Rollup, Turbo). `npm install` then leaves them out of package-lock.json and
// `npm ci` refuses the lockfile. This adds an entry for each such package with the os/cpu/libc its
// name states, so `npm ci` skips it on other platforms without fetching it. Run after `npm install`.
import { execFileSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"

const lockPath = new URL("../package-lock.json", import.meta.url)
let missing
try {
  execFileSync("npm", ["ci", "--dry-run", "--ignore-scripts", "--no-audit", "--no-fund"], { stdio: "pipe" })
  missing = []
} catch (error) {
  missing = [...String(error.stderr).matchAll(/Missing: (@?[^@\s]+)@ from lock file/g)].map((m) => m[1])
}
const lock = JSON.parse(readFileSync(lockPath, "utf8"))
const osOf = {
  android: "android",
  darwin: "darwin",
  freebsd: "freebsd",
  linux: "linux",
  win32: "win32",
  windows: "win32",
  openharmony: "openharmony",
  openbsd: "openbsd",
  netbsd: "netbsd",
  sunos: "sunos",
  aix: "aix"
}
const cpuOf = {
  arm64: "arm64",
  x64: "x64",
  64: "x64",
  arm: "arm",
  ia32: "ia32",
  loong64: "loong64",
  ppc64: "ppc64",
  riscv64: "riscv64",
  s390x: "s390x"
}
for (const name of missing) {
  const parts = name.split("/").pop().split("-")
  const os = parts.map((p) => osOf[p]).find(Boolean)
  const cpu = parts.map((p) => cpuOf[p]).find(Boolean)
  const libc = parts.some((p) => p.startsWith("musl"))
    ? "musl"
    : parts.some((p) => p.startsWith("gnu")) && os === "linux"
      ? "glibc"
      : undefined
  const parent = Object.entries(lock.packages).find(([, pkg]) => pkg.optionalDependencies?.[name])
  if (os === undefined || cpu === undefined || parent === undefined) throw new Error(`cannot place ${name}`)
  const [, owner] = parent
  lock.packages[`node_modules/${name}`] = {
    version: owner.optionalDependencies[name],
    cpu: [cpu],
    ...(libc === undefined ? {} : { libc: [libc] }),
    ...(owner.dev ? { dev: true } : {}),
    optional: true,
    os: [os]
  }
}
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`)
process.stdout.write(`added ${missing.length} platform entries to package-lock.json\n`)
