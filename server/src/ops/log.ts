/**
 * Structured logs: one JSON object per line (pino), the same options in every process kind
 * (the API's Fastify logger, workers, scheduler), with credentials redacted wherever they could
 * appear. A token never reaches a log line: the Authorization header is censored and any field
 * named `token` is too.
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino censors (pino's redaction has no recursive wildcard: these cover the places a
 * request, its headers or a token object can land, up to two levels down).
 */
export const REDACT_PATHS = [
  'authorization',
  'token',
  'headers.authorization',
  '*.authorization',
  '*.token',
  '*.headers.authorization',
  '*.*.token',
];

/** pino options of every electron-tuf process: JSON lines at `level`, credentials redacted. */
export function logOptions(level = 'info'): LoggerOptions {
  return { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
}

/** A logger for a process kind (`component` names it in every line: api, worker, scheduler). */
export function createLogger(component: string, options: LoggerOptions = logOptions()): Logger {
  return pino(options).child({ component });
}

/** A logger that writes nothing (tests, library use without logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * The logger of a process from the `logger` setting its start function takes (as Fastify's):
 * false for none, true or undefined for JSON lines on stdout, or pino options (with `stream`).
 */
export function processLogger(component: string, setting: unknown): Logger {
  if (setting === false) return silentLogger();
  if (setting === undefined || setting === true) return createLogger(component);
  const { stream, ...options } = setting as LoggerOptions & { stream?: DestinationStream };
  const merged = { ...logOptions(), ...options };
  return (stream ? pino(merged, stream) : pino(merged)).child({ component });
}
