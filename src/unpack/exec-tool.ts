// Node has no mknod, mkfifo or setxattr: run the coreutils / attr tools instead.
// Arguments go through execFile (no shell), names after `--`.

import { execFile } from 'node:child_process';

export type ToolResult = { ok: true } | { ok: false; missing: boolean; message: string };

/** Runs `tool args...`; never throws: a missing tool or a refusal is a result. */
export function runTool(tool: string, args: readonly string[], timeoutMs = 30_000): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(tool, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 }, (err, _stdout, stderr) => {
      if (!err) return resolve({ ok: true });
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      const message = String(stderr).trim() || err.message;
      resolve({ ok: false, missing, message });
    });
  });
}

/** setfattr's argument for a binary-safe value: hex with a 0x prefix. */
export function xattrValueArg(value: Buffer): string {
  return value.length === 0 ? '' : `0x${value.toString('hex')}`;
}
