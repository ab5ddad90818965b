/**
 * The errors the API answers with. Each is JSON `{ "_tag", "message" }` under its HTTP status, and
 * the message says what to do next; core's errors are mapped onto them by `Failures`.
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

const fields = { message: Schema.String }

/** 400: the request names something invalid (a ref, an id, a flag) or cannot be analysed. */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()(
  "InvalidRequest",
  fields,
  HttpApiSchema.annotations({ status: 400 })
) {}

/** 401: the server has a token and the request did not carry it. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  fields,
  HttpApiSchema.annotations({ status: 401 })
) {}

/** 403: the server was started with --read-only. */
export class ReadOnly extends Schema.TaggedError<ReadOnly>()(
  "ReadOnly",
  fields,
  HttpApiSchema.annotations({ status: 403 })
) {}

/** 404: no such build, partition or route. */
export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  fields,
  HttpApiSchema.annotations({ status: 404 })
) {}

/** 409: the request contradicts what the log says (another build under this id, a build already finished). */
export class Conflict extends Schema.TaggedError<Conflict>()(
  "Conflict",
  fields,
  HttpApiSchema.annotations({ status: 409 })
) {}

/** 413: the body is larger than the server accepts. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
  "PayloadTooLarge",
  fields,
  HttpApiSchema.annotations({ status: 413 })
) {}

/** 503: the store did not answer or failed; the request may be retried. */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()(
  "StoreUnavailable",
  fields,
  HttpApiSchema.annotations({ status: 503 })
) {}

/** 500: a bug in Tessera; the message says which operation, never a stack trace. */
export class InternalError extends Schema.TaggedError<InternalError>()(
  "InternalError",
  fields,
  HttpApiSchema.annotations({ status: 500 })
) {}
