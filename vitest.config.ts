import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: ["packages/*", "test", "examples/*"],
    globalSetup: ["./test/setup/postgres.ts", "./test/setup/build.ts"]
  }
})
