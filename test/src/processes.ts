/**
 * Real OS processes for multi-process tests: Node children whose output is collected, killed with
 * the scope that started them.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { Deferred, Effect, type Scope } from "effect"

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface Running {
  readonly child: ChildProcess
  readonly exit: Effect.Effect<Exit>
  /** What the child printed so far, for a test that must explain why it gave up waiting. */
  readonly output: () => string
}

/**
 * Starts `node ...args`; a child still running when the scope closes is killed. `env` is added to this
 * process's environment; a variable given as undefined is left out.
 */
export const startNode = (
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: Record<string, string | undefined> } = {}
): Effect.Effect<Running, never, Scope.Scope> =>
  Effect.gen(function* () {
    const done = yield* Deferred.make<Exit>()
    const child = spawn(process.execPath, args, {
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on("close", (code, signal) => Deferred.unsafeDone(done, Effect.succeed({ code, signal, stdout, stderr })))
    yield* Effect.addFinalizer(() => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL")))
    return { child, exit: Deferred.await(done), output: () => `${args.slice(-8).join(" ")}:\n${stdout}${stderr}` }
  })

/** Runs a TypeScript script (through tsx) to its end. */
export const runScript = (script: string, args: ReadonlyArray<string>) =>
  Effect.flatMap(startNode(["--import", "tsx", script, ...args]), (running) => running.exit)
