// The control API of lazysnapd: JSON over HTTP on the unix socket STATE/lazysnapd.sock.
// Errors travel as { code, message } (LazysnapError.toJSON) with an HTTP status that
// follows the code; the client rebuilds them with LazysnapError.fromJSON.

import type { ErrorCode } from '../errors.js';
import type { CacheFigures, LayerDescription, PrefetchMode } from './backend.js';

export const ROUTES = {
  ping: { method: 'GET', path: '/v1/ping' },
  status: { method: 'GET', path: '/v1/status' },
  mount: { method: 'POST', path: '/v1/mount' },
  umount: { method: 'POST', path: '/v1/umount' },
  shutdown: { method: 'POST', path: '/v1/shutdown' },
} as const;

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 412,
  INVALID_ARGUMENT: 400,
  UNAUTHORIZED: 401,
  UNAVAILABLE: 503,
  DIGEST_MISMATCH: 502,
  INTERNAL: 500,
};

export interface MountRequest {
  reference: string;
  /** Absolute path (the client resolves a relative one against its own cwd). */
  mountpoint: string;
  platform?: string;
  prefetch?: PrefetchMode;
}

export interface UmountRequest {
  mountpoint: string;
}

export interface DaemonInfo {
  pid: number;
  version: string;
  stateDir: string;
}

/** One mount in `status`: CLI.md's fields first, then lazysnap's extras. */
export interface MountStatus {
  mountpoint: string;
  image: string;
  digest: string;
  kind: 'view' | 'active';
  bytesFetched: number;
  requests: number;
  cacheHits: number;
  cacheMisses: number;
  // extras
  reference: string;
  platform?: string;
  prefetch: PrefetchMode;
  mountedAt: string;
  layers: LayerDescription[];
  compressedBytes: number;
  /** cacheHits / (cacheHits + cacheMisses), 0 before any read. */
  cacheHitRate: number;
  readLatencyMs: { p50: number; p99: number };
  /** FUSE operations that failed (EIO and the like; ENOENT answers are not errors). */
  errors: number;
  /** Failed fetches the backend counted (some were retried and never reached a reader). */
  fetchErrors: number;
  fsOps: number;
}

/** A recorded mount the daemon could not restore after a restart (kept for the next try or `umount`). */
export interface RestoreFailure {
  mountpoint: string;
  reference: string;
  error: { code: ErrorCode; message: string };
}

export interface StatusReport {
  daemon: DaemonInfo;
  mounts: MountStatus[];
  cache: CacheFigures;
  restoreFailures: RestoreFailure[];
}
