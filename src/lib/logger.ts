import { pino, type Logger } from 'pino';

/** JSON logs on stderr (stdout carries command output such as `--json`). */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'kr-tracker' } }, pino.destination(2));
}

export type { Logger };
