// The daemon's log: one line per event on a stream (the daemon's stderr goes to
// STATE/daemon.log when the CLI starts it). Errors are logged whole, stack and cause.

import { inspect } from 'node:util';

export interface DaemonLog {
  info(msg: string): void;
  warn(msg: string, err?: unknown): void;
  error(msg: string, err?: unknown): void;
}

export function streamLog(out: NodeJS.WritableStream = process.stderr): DaemonLog {
  const line = (level: string, msg: string, err?: unknown) => {
    const detail = err === undefined ? '' : ` ${inspect(err, { depth: 6, breakLength: Infinity })}`;
    out.write(`${new Date().toISOString()} ${level} ${msg}${detail}\n`);
  };
  return {
    info: (msg) => line('info', msg),
    warn: (msg, err) => line('warn', msg, err),
    error: (msg, err) => line('error', msg, err),
  };
}

export const silentLog: DaemonLog = { info() {}, warn() {}, error() {} };
