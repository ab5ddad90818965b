/**
 * Every Effect `Metric` of the process in Prometheus' text exposition format (version 0.0.4). The
 * format is a few lines per metric; the alternative, OpenTelemetry's Prometheus exporter beside
 * @effect/opentelemetry, is a dozen packages for the same text.
 */
import { Effect, Metric, MetricState } from "effect"
import type { MetricKey, MetricPair } from "effect"

const name = (raw: string) => raw.replace(/[^a-zA-Z0-9_:]/g, "_")
const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

const labels = (key: MetricKey.MetricKey.Untyped, extra: ReadonlyArray<readonly [string, string]> = []) => {
  const pairs = [...key.tags.map((tag) => [tag.key, tag.value] as const), ...extra]
  return pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${name(k)}="${escapeLabel(v)}"`).join(",")}}`
}

const number = (value: number | bigint) =>
  typeof value === "bigint" ? value.toString() : Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : "-Inf"

const lines = (pair: MetricPair.MetricPair.Untyped): { type: string; samples: Array<string> } => {
  const key = pair.metricKey
  const metric = name(key.name)
  const state = pair.metricState
  if (MetricState.isCounterState(state))
    return { type: "counter", samples: [`${metric}${labels(key)} ${number(state.count)}`] }
  if (MetricState.isGaugeState(state))
    return { type: "gauge", samples: [`${metric}${labels(key)} ${number(state.value)}`] }
  if (MetricState.isHistogramState(state)) {
    return {
      type: "histogram",
      samples: [
        ...state.buckets.map(([bound, count]) => `${metric}_bucket${labels(key, [["le", number(bound)]])} ${count}`),
        `${metric}_bucket${labels(key, [["le", "+Inf"]])} ${state.count}`,
        `${metric}_sum${labels(key)} ${number(state.sum)}`,
        `${metric}_count${labels(key)} ${state.count}`
      ]
    }
  }
  if (MetricState.isSummaryState(state)) {
    return {
      type: "summary",
      samples: [
        ...state.quantiles.flatMap(([quantile, value]) =>
          value._tag === "Some"
            ? [`${metric}${labels(key, [["quantile", String(quantile)]])} ${number(value.value)}`]
            : []
        ),
        `${metric}_sum${labels(key)} ${number(state.sum)}`,
        `${metric}_count${labels(key)} ${state.count}`
      ]
    }
  }
  if (MetricState.isFrequencyState(state)) {
    return {
      type: "counter",
      samples: [...state.occurrences].map(([value, count]) => `${metric}${labels(key, [["key", value]])} ${count}`)
    }
  }
  return { type: "untyped", samples: [] }
}

/** The snapshot as exposition text: one `# HELP`/`# TYPE` per metric name, then its samples. */
export const format = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const byName = new Map<string, { help: string | undefined; type: string; samples: Array<string> }>()
  for (const pair of pairs) {
    const metric = name(pair.metricKey.name)
    const { type, samples } = lines(pair)
    const entry = byName.get(metric) ?? {
      help: pair.metricKey.description._tag === "Some" ? pair.metricKey.description.value : undefined,
      type,
      samples: []
    }
    entry.samples.push(...samples)
    byName.set(metric, entry)
  }
  const out: Array<string> = []
  for (const [metric, entry] of [...byName].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (entry.help !== undefined) out.push(`# HELP ${metric} ${entry.help.replace(/\n/g, " ")}`)
    out.push(`# TYPE ${metric} ${entry.type}`, ...entry.samples)
  }
  return `${out.join("\n")}\n`
}

export const text: Effect.Effect<string> = Effect.map(Metric.snapshot, format)
