// The one logger (pino). Secrets are redacted by key wherever they appear in a log record.
import { pino, type Logger } from "pino";

export type { Logger };

const REDACT = [
  "token",
  "password",
  "secret",
  "authorization",
  "*.token",
  "*.password",
  "*.secret",
  "*.authorization",
  "headers.authorization",
];

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env["LOOPML_LOG_LEVEL"] ?? "warn";
  const opts = { level, redact: { paths: REDACT, censor: "[redacted]" }, base: undefined };
  return options.destination
    ? pino(opts, options.destination as pino.DestinationStream)
    : pino(opts, pino.destination(2));
}

export const silentLogger: Logger = pino({ level: "silent" });
