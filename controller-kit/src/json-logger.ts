/**
 * Structured logs as one JSON object per line on stderr (what log pipelines in a cluster
 * parse), with a level threshold. Implements controller-kit's Logger.
 */
import type { Logger } from './controller.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface JsonLogger extends Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line. */
  with(fields: Record<string, unknown>): JsonLogger;
}

export function jsonLogger(options: { level?: LogLevel; component: string; write?: (line: string) => void; now?: () => Date }): JsonLogger {
  const threshold = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const make = (base: Record<string, unknown>): JsonLogger => {
    const log = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
      if (RANK[level] < threshold) return;
      const extra = fields ? Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Error ? v.message : v])) : {};
      write(JSON.stringify({ ts: now().toISOString(), level, msg, ...base, ...extra }));
    };
    return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), with: (fields) => make({ ...base, ...fields }) };
  };
  return make({ component: options.component });
}
