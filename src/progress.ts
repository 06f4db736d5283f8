// How long engine work reports progress. The CLI implements this with bars on a TTY and
// plain lines otherwise; the engine never prints.

export interface Progress {
  /** A task of `total` bytes (0 when unknown) named `label`. */
  start(id: string, label: string, total: number): void;
  update(id: string, done: number): void;
  finish(id: string, note?: string): void;
  note(text: string): void;
  close(): void;
}

export const silentProgress: Progress = { start() {}, update() {}, finish() {}, note() {}, close() {} };
