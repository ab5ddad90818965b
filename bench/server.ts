/**
 * The server: `GET /api/v1/partitions/{ref}` throughput and latency with a large SQLite log, beside
 * a bare `node:http` server answering the same JSON from the same store in the same process (the
 * same `PartitionView.read` and encoding: the ratio is what HttpApi, its router and middleware
 * cost); and server-sent event fan-out to many clients, beside a bare `node:http` server writing
 * one shared tail's frames to every client (the server keeps one tail per client, so each resumes
 * on its own).
 *
 * `npm run bench -- server [events=1000000] [requests=5000] [clients=100] [fanoutEvents=500]`
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { Builds, Graph, Job, pattern } from "@tessera/core"
import { Bodies, PartitionView, Server } from "@tessera/server"
import { SqliteEventLog } from "@tessera/store-sqlite"
import { EventLog } from "@tessera/core"
import { Context, Effect, Fiber, Layer, Option, Runtime, Schema, Stream } from "effect"
import { type Benchmark, chunks, percentile, perSecond, report, timed } from "./src/report.js"
import { history } from "./src/workload.js"

/** The graph the workload's runs belong to: `clean` at version 1 produces `sales/date=…`. */
const graph = Graph.make([
  Job.make({
    name: "clean",
    version: "1",
    outputs: [pattern("sales/date={date}")],
    config: (refs) => refs.map((ref) => ({ outputs: [ref], inputs: [] })),
    run: () => Effect.succeed({})
  })
])

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })

const get = (url: string) =>
  new Promise<number>((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        response.resume()
        response.on("end", () => resolve(response.statusCode ?? 0))
      })
      .on("error", reject)
  })

/** `requests` GETs of `pathOf(i)`, 16 at a time: throughput, and each request's latency in µs. */
const load = (base: string, pathOf: (i: number) => string, requests: number) =>
  Effect.promise(async () => {
    const latencies: Array<number> = []
    let next = 0
    const started = performance.now()
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < requests) {
          const path = pathOf(next++)
          const start = performance.now()
          const status = await get(`${base}${path}`)
          if (status !== 200) throw new Error(`GET ${path} answered ${status}`)
          latencies.push((performance.now() - start) * 1000)
        }
      })
    )
    return { ms: performance.now() - started, latencies }
  })

const listen = (server: http.Server) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<string>((resolve) =>
          server.listen(0, "127.0.0.1", () =>
            resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)
          )
        )
    ),
    () => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )

/** Opens `clients` event streams and resolves when each has received `count` events. */
const subscribers = (url: string, clients: number, count: number) =>
  Effect.promise(async () => {
    const done = Array.from(
      { length: clients },
      () =>
        new Promise<void>((resolve, reject) => {
          const request = http.get(url, (response) => {
            let seen = 0
            response.setEncoding("utf8")
            response.on("data", (chunk: string) => {
              seen += chunk.split("\nid: ").length - 1 + (chunk.startsWith("id: ") ? 1 : 0)
              if (seen >= count) {
                request.destroy()
                resolve()
              }
            })
          })
          request.on("error", (error) => (error.message.includes("aborted") ? undefined : reject(error)))
        })
    )
    return () => Promise.all(done)
  })

const bench: Benchmark = (args) =>
  Effect.scoped(
    Effect.gen(function* () {
      const events = Number(args[0] ?? 1_000_000)
      const requests = Number(args[1] ?? 5_000)
      const clients = Number(args[2] ?? 100)
      const fanoutEvents = Number(args[3] ?? 500)
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tessera-bench-server-"))),
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
      )
      process.stdout.write(
        `server bench: ${events} events on SQLite, ${requests} partition GETs 16 at a time, ` +
          `SSE fan-out of ${fanoutEvents} events to ${clients} clients, in ${dir}\n`
      )
      const context = yield* Layer.build(
        Layer.provideMerge(
          Builds.layer(graph),
          Layer.orDie(SqliteEventLog.layer({ filename: path.join(dir, "events.db") }))
        )
      )
      const log = Context.get(context, EventLog.EventLog)
      const filled = history(events)
      yield* Effect.forEach(chunks(filled, 1000), (batch) => log.append(batch), { discard: true })
      const refs = [
        ...new Set(filled.flatMap((event) => (event._tag === "PartitionStatusChanged" ? [event.partitionRef] : [])))
      ]
      filled.length = 0

      const served = yield* Server.start({ port: 0, graph }).pipe(Effect.provide(context), Effect.orDie)
      const runtime = yield* Effect.runtime<EventLog.EventLog | Builds.Builds>().pipe(Effect.provide(context))
      const run = Runtime.runPromise(runtime)
      const encode = Schema.encode(Bodies.PartitionDetail)
      const bare = yield* listen(
        http.createServer((request, response) => {
          if (request.url === "/healthz") {
            response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok" }))
            return
          }
          const ref = decodeURIComponent((request.url ?? "").slice("/api/v1/partitions/".length))
          run(Effect.flatMap(PartitionView.read(ref, Option.some(graph)), encode)).then(
            (body) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body)),
            () => response.writeHead(500).end()
          )
        })
      )
      const partition = (i: number) => `/api/v1/partitions/${encodeURIComponent(refs[(i * 7919) % refs.length]!)}`
      const health = () => "/healthz"
      // Warm both, then measure each.
      yield* load(served.url, partition, 500)
      yield* load(bare, partition, 500)
      const api = yield* load(served.url, partition, requests)
      const raw = yield* load(bare, partition, requests)
      // The HTTP stack alone: a route that reads nothing.
      const apiHealth = yield* load(served.url, health, requests)
      const rawHealth = yield* load(bare, health, requests)

      // Fan-out: every client connects after the head, then the events are appended in batches of 10.
      const fanout = (url: string) =>
        Effect.gen(function* () {
          const head = yield* log.head
          const all = yield* subscribers(`${url}?after=${head}`, clients, fanoutEvents)
          yield* Effect.sleep("300 millis")
          const [, ms] = yield* timed(
            Effect.zipRight(
              Effect.forEach(chunks(history(fanoutEvents, `f${head}-`), 10), (batch) => log.append(batch), {
                discard: true
              }),
              Effect.promise(all)
            )
          )
          return ms
        })
      const sseMs = yield* fanout(`${served.url}/api/v1/events/stream`)
      const sockets = new Set<http.ServerResponse>()
      const shared = yield* Effect.forkScoped(
        log.tail({}, { after: yield* log.head }).pipe(
          Stream.runForEach((entry) =>
            Effect.sync(() => {
              const frame = `id: ${entry.seq}\nevent: ${entry.event._tag}\ndata: ${JSON.stringify({ seq: entry.seq })}\n\n`
              for (const socket of sockets) socket.write(frame)
            })
          )
        )
      )
      const bareSse = yield* listen(
        http.createServer((_, response) => {
          response.writeHead(200, { "content-type": "text/event-stream" })
          sockets.add(response)
          response.on("close", () => sockets.delete(response))
        })
      )
      const rawSseMs = yield* fanout(bareSse)
      yield* Fiber.interrupt(shared)

      const latency = (p: number) => ({ api: percentile(api.latencies, p), raw: percentile(raw.latencies, p) })
      yield* report("server", [
        {
          id: "server.partition.get",
          case: `GET /api/v1/partitions/{ref}, 16 at a time (${events} events, ${refs.length} partitions)`,
          unit: "req/s",
          value: perSecond(requests, api.ms),
          baseline: { name: "node:http, same view and JSON", value: perSecond(requests, raw.ms) },
          higherIsBetter: true
        },
        {
          id: "server.partition.get.p50",
          case: "GET /api/v1/partitions/{ref} latency p50",
          unit: "µs",
          value: latency(50).api,
          baseline: { name: "node:http, same view and JSON", value: latency(50).raw },
          higherIsBetter: false
        },
        {
          id: "server.partition.get.p99",
          case: "GET /api/v1/partitions/{ref} latency p99",
          unit: "µs",
          value: latency(99).api,
          baseline: { name: "node:http, same view and JSON", value: latency(99).raw },
          higherIsBetter: false
        },
        {
          id: "server.healthz",
          case: "GET /healthz, 16 at a time (the HTTP stack alone)",
          unit: "req/s",
          value: perSecond(requests, apiHealth.ms),
          baseline: { name: "node:http, the same JSON", value: perSecond(requests, rawHealth.ms) },
          higherIsBetter: true
        },
        {
          id: "server.sse.fanout",
          case: `SSE: ${fanoutEvents} events to each of ${clients} clients`,
          unit: "events/s",
          value: perSecond(fanoutEvents * clients, sseMs),
          baseline: {
            name: "node:http writing one shared tail to every client",
            value: perSecond(fanoutEvents * clients, rawSseMs)
          },
          higherIsBetter: true
        }
      ])
    })
  )

export default bench
