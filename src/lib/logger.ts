import { pino, type DestinationStream, type Logger } from 'pino';

/** JSON logs on stderr (stdout carries command output such as `--json`); or on `destination`. */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  return pino({ level, base: { service: 'kr-tracker' } }, destination ?? pino.destination(2));
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };

/** One pino JSON line as one line for people: `warning: sync failed (stream=github/deployments/acme/payments, err=...)`. */
export function humanLogLine(json: string): string {
  try {
    const { level, msg, time: _time, pid: _pid, hostname: _host, service: _service, ...rest } = JSON.parse(json) as Record<string, unknown>;
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(', ');
    const text = `${LEVEL_NAMES[level as number] ?? String(level)}: ${String(msg ?? '')}${fields ? ` (${fields})` : ''}`;
    return text.replace(/\s*\n\s*/g, '; ');
  } catch {
    return json.trim();
  }
}

/**
 * A log destination that holds lines until release() (so that a table printed meanwhile stays
 * whole), then prints them, and everything after, as one human line each on stderr.
 */
export function heldLogDestination(out: NodeJS.WritableStream = process.stderr): DestinationStream & { release(): string[] } {
  let held: string[] | null = [];
  return {
    write(line: string) {
      for (const l of line.split('\n').filter(Boolean)) {
        if (held) held.push(humanLogLine(l));
        else out.write(humanLogLine(l) + '\n');
      }
    },
    release() {
      const lines = held ?? [];
      held = null;
      return lines;
    },
  };
}

export type { Logger };
