import type { RetryPolicy } from "../event/BuildEvent.js"

export const defaultPolicy: { attempts: number; initialDelayMs: number; maxDelayMs: number; factor: number } = {
  attempts: 1,
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  factor: 2
}

/** The delay before attempt `next` (2, 3, ...): exponential, capped, with ±25% jitter so retries spread out. */
export const delayBefore = (policy: RetryPolicy, next: number, random: number): number => {
  const initial = policy.initialDelayMs ?? defaultPolicy.initialDelayMs
  const max = policy.maxDelayMs ?? defaultPolicy.maxDelayMs
  const factor = policy.factor ?? defaultPolicy.factor
  const base = Math.min(max, initial * factor ** Math.max(0, next - 2))
  return Math.round(base * (0.75 + random * 0.5))
}
