// STATE/mounts.json: the mounts a daemon must restore after a restart. Written atomically
// (temp file, fsync, rename) so a crash leaves the old list or the new one, never half.

import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { internal } from '../errors.js';
import { PREFETCH_MODES, type PrefetchMode } from './backend.js';

export interface MountRecord {
  mountpoint: string;
  reference: string;
  platform?: string;
  prefetch: PrefetchMode;
  mountedAt: string;
  /** The detached process serving the mount (absent for in-process mounts). */
  serverPid?: number;
  /** Its control socket, STATE/mounts/<id>.sock. */
  serverSocket?: string;
}

/** The record of a mount being made now at `mountpoint` (absolute, resolved); no server yet. */
export function newMountRecord(mountpoint: string, req: { reference: string; prefetch?: PrefetchMode; platform?: string }): MountRecord {
  return {
    mountpoint, reference: req.reference, prefetch: req.prefetch ?? 'none', mountedAt: new Date().toISOString(),
    ...(req.platform ? { platform: req.platform } : {}),
  };
}

const FILE = 'mounts.json';
const VERSION = 1;

export function recordsPath(stateDir: string): string {
  return join(stateDir, FILE);
}

export async function loadRecords(stateDir: string): Promise<MountRecord[]> {
  let text: string;
  try {
    text = await readFile(recordsPath(stateDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw internal(`cannot read ${recordsPath(stateDir)}`, err);
  }
  let doc: { version?: unknown; mounts?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (err) {
    throw internal(`${recordsPath(stateDir)} is not JSON`, err);
  }
  if (doc.version !== VERSION || !Array.isArray(doc.mounts)) throw internal(`${recordsPath(stateDir)}: unknown format`);
  return doc.mounts.filter(isRecord);
}

export async function saveRecords(stateDir: string, records: readonly MountRecord[]): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const tmp = `${recordsPath(stateDir)}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify({ version: VERSION, mounts: records }, null, 2) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, recordsPath(stateDir));
}

/** Drops the record for `mountpoint`; returns the dropped record. For use when no daemon runs. */
export async function removeRecord(stateDir: string, mountpoint: string): Promise<MountRecord | undefined> {
  const records = await loadRecords(stateDir);
  const kept = records.filter((r) => r.mountpoint !== mountpoint);
  if (kept.length === records.length) return undefined;
  await saveRecords(stateDir, kept);
  return records.find((r) => r.mountpoint === mountpoint);
}

function isRecord(v: unknown): v is MountRecord {
  const r = v as Partial<MountRecord> | null;
  return typeof r?.mountpoint === 'string' && typeof r.reference === 'string'
    && PREFETCH_MODES.includes(r.prefetch as PrefetchMode) && typeof r.mountedAt === 'string'
    && (r.platform === undefined || typeof r.platform === 'string')
    && (r.serverPid === undefined || Number.isSafeInteger(r.serverPid))
    && (r.serverSocket === undefined || typeof r.serverSocket === 'string');
}
