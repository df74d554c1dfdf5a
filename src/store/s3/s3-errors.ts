// Maps S3 SDK and network failures to LoopmlErrors that name the endpoint and the fix, never the credentials.
import { LoopmlError } from "../../errors.ts";

export interface S3Place {
  /** s3://bucket/prefix */
  readonly location: string;
  readonly bucket: string;
  readonly endpoint: string | undefined;
  readonly region: string;
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);
const NETWORK_NAMES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException"]);
const BAD_CREDENTIALS = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
]);
const THROTTLED = new Set(["SlowDown", "ServiceUnavailable", "Throttling", "ThrottlingException"]);

export function isNotFound(e: unknown): boolean {
  const err = e as SdkErrorShape | undefined;
  // A missing bucket is also a 404, but it is a setup problem, not an absent blob.
  if (err?.name === "NoSuchBucket") return false;
  return err?.name === "NoSuchKey" || err?.name === "NotFound" || err?.$metadata?.httpStatusCode === 404;
}

export function toS3Error(e: unknown, place: S3Place): LoopmlError {
  if (e instanceof LoopmlError) return e;
  const err = (e ?? {}) as SdkErrorShape;
  const name = err.name ?? "Error";
  const status = err.$metadata?.httpStatusCode;
  const target =
    place.endpoint === undefined ? `AWS S3 (region ${place.region})` : printableUrl(place.endpoint);
  const keep = { cause: e };

  if ((err.code !== undefined && NETWORK_CODES.has(err.code)) || NETWORK_NAMES.has(name)) {
    const fix =
      place.endpoint === undefined
        ? "Check the network, or set LOOPML_S3_ENDPOINT (or AWS_ENDPOINT_URL) for an S3-compatible server."
        : "Check that the server is running and that LOOPML_S3_ENDPOINT (or AWS_ENDPOINT_URL) points to it.";
    return new LoopmlError(
      "UNAVAILABLE",
      `Cannot reach ${target} for ${place.location} (${err.code ?? name}). ${fix}`,
      undefined,
      keep,
    );
  }
  if (name === "CredentialsProviderError") {
    return new LoopmlError(
      "UNAUTHENTICATED",
      `No S3 credentials found for ${place.location}. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE).`,
      undefined,
      keep,
    );
  }
  if (BAD_CREDENTIALS.has(name)) {
    return new LoopmlError(
      "UNAUTHENTICATED",
      `${target} rejected the credentials for ${place.location} (${name}). Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.`,
      undefined,
      keep,
    );
  }
  if (name === "AccessDenied" || status === 403) {
    return new LoopmlError(
      "PERMISSION_DENIED",
      `Access to ${place.location} was denied by ${target}. Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and grant s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on it.`,
      undefined,
      keep,
    );
  }
  if (name === "NoSuchBucket") {
    return new LoopmlError(
      "FAILED_PRECONDITION",
      `Bucket "${place.bucket}" does not exist at ${target}. Create it (aws s3 mb s3://${place.bucket}) or fix the blob store URI.`,
      undefined,
      keep,
    );
  }
  if (THROTTLED.has(name) || status === 503) {
    return new LoopmlError(
      "UNAVAILABLE",
      `${target} is overloaded or throttling requests for ${place.location} (${name}), even after retries. Retry later.`,
      undefined,
      keep,
    );
  }
  return new LoopmlError(
    "INTERNAL",
    `S3 request for ${place.location} at ${target} failed: ${name}${err.message ? `: ${err.message}` : ""}`,
    undefined,
    keep,
  );
}

/** A URL without any user:password part, quoted, safe to print; a string that does not parse is not printed at all. */
export function printableUrl(url: string): string {
  const u = parseUrl(url);
  if (u === undefined) return "(not a valid URL)";
  return `"${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}"`;
}

export function parseUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}
