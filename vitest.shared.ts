import { fileURLToPath } from "node:url"
import type { UserWorkspaceConfig } from "vitest/config"

const src = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url))

// Tests run against the TypeScript sources of every workspace package, so `npm test` needs no build.
export const shared: UserWorkspaceConfig = {
  resolve: {
    alias: [
      { find: /^@tessera\/core$/, replacement: src("core/src/index.ts") },
      { find: /^@tessera\/core\/testing$/, replacement: src("core/src/testing/index.ts") },
      { find: /^@tessera\/store-sqlite$/, replacement: src("store-sqlite/src/index.ts") },
      { find: /^@tessera\/store-postgres$/, replacement: src("store-postgres/src/index.ts") },
      { find: /^@tessera\/store-delta$/, replacement: src("store-delta/src/index.ts") },
      { find: /^@tessera\/server$/, replacement: src("server/src/index.ts") },
      { find: /^@tessera\/cli$/, replacement: src("cli/src/index.ts") }
    ]
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
}
