/**
 * The packages as a user gets them: `npm pack` tarballs installed with npm into a project outside the
 * repository, with no workspace and no links, the way `npm install @tessera/cli` will install them.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const root = fileURLToPath(new URL("../..", import.meta.url))

export interface Ran {
  readonly stdout: string
  readonly stderr: string
}

/** Runs `command` to its end, failing with its output when it exits non-zero or outlives `timeoutMs`. */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string>; readonly timeoutMs?: number }
): Promise<Ran> =>
  new Promise((resolve, reject) => {
    execFile(
      command,
      [...args],
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024
      },
      (error, stdout, stderr) =>
        error === null
          ? resolve({ stdout, stderr })
          : reject(
              new Error(
                `${command} ${args.join(" ")} (in ${options.cwd}) failed: ${error.message}\n${stdout}\n${stderr}`
              )
            )
    )
  })

export interface Packed {
  readonly name: string
  readonly tarball: string
  readonly files: ReadonlyArray<string>
}

/** The workspace packages that are published: everything under packages/ not marked private. */
export const publishedPackages = (): ReadonlyArray<{
  readonly dir: string
  readonly manifest: Record<string, unknown>
}> =>
  fs
    .readdirSync(path.join(root, "packages"))
    .map((name) => path.join(root, "packages", name))
    .filter((dir) => fs.existsSync(path.join(dir, "package.json")))
    .map((dir) => ({ dir, manifest: JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) }))
    .filter(({ manifest }) => manifest.private !== true)

/** Packs every published package into `dest` (their dist/ must be built: test/setup/build.ts does it). */
export const packAll = (dest: string): Promise<ReadonlyArray<Packed>> =>
  Promise.all(
    publishedPackages().map(async ({ dir }) => {
      const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dest], { cwd: dir })
      const [report] = JSON.parse(stdout) as ReadonlyArray<{
        readonly name: string
        readonly filename: string
        readonly files: ReadonlyArray<{ readonly path: string }>
      }>
      return {
        name: report!.name,
        tarball: path.join(dest, report!.filename),
        files: report!.files.map((file) => file.path)
      }
    })
  )

const workspaceModule = (name: string) =>
  path.dirname(createRequire(path.join(root, "packages", "store-sqlite", "x.js")).resolve(`${name}/package.json`))

/** The exact version of a package installed in the workspace, so a consumer's install finds it in npm's cache. */
export const workspaceVersion = (name: string): string =>
  JSON.parse(fs.readFileSync(path.join(workspaceModule(name), "package.json"), "utf8")).version

/**
 * A prebuilt better-sqlite3 for `prebuild-install` (better-sqlite3's install script) made from the
 * workspace's own compiled driver, as `npm_config_better_sqlite3_local_prebuilds` expects it. Without
 * it the install compiles SQLite with node-gyp (about two minutes on two cores): the prebuilt
 * binaries are on GitHub, which this machine and CI do not reach. It only applies when the version
 * installed matches the workspace's; another version is compiled as a user's would be.
 */
export const localPrebuilds = async (dir: string): Promise<Record<string, string>> => {
  const driver = workspaceModule("better-sqlite3")
  const name = `better-sqlite3-v${workspaceVersion("better-sqlite3")}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`
  fs.mkdirSync(dir, { recursive: true })
  await run("tar", ["czf", path.join(dir, name), "-C", driver, "build/Release/better_sqlite3.node"], { cwd: dir })
  return { npm_config_better_sqlite3_local_prebuilds: dir }
}

/**
 * `npm install` in `dir`, preferring npm's cache (only the npm registry is reachable, and most of what
 * the tarballs need is in the cache after the workspace's own install).
 */
export const npmInstall = (dir: string, specs: ReadonlyArray<string>, env: Record<string, string>): Promise<Ran> =>
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...specs], {
    cwd: dir,
    env,
    timeoutMs: 600_000
  })
