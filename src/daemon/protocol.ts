// The control APIs: lazysnapd's on STATE/lazysnapd.sock (ROUTES) and each mount server's
// on STATE/mounts/<id>.sock (SERVER_ROUTES); both JSON over HTTP on owner-only unix
// sockets. Errors travel as { code, message } (LazysnapError.toJSON) with an HTTP status
// that follows the code; clients rebuild them with LazysnapError.fromJSON.

import type { ErrorCode } from '../errors.js';
import type { CacheFigures, LayerDescription, PrefetchMode } from './backend.js';

export const ROUTES = {
  ping: { method: 'GET', path: '/v1/ping' },
  status: { method: 'GET', path: '/v1/status' },
  mount: { method: 'POST', path: '/v1/mount' },
  /** Take on a mount whose server someone else started (the CLI, for a state dir's first mount). */
  adopt: { method: 'POST', path: '/v1/adopt' },
  umount: { method: 'POST', path: '/v1/umount' },
  shutdown: { method: 'POST', path: '/v1/shutdown' },
} as const;

/** One mount server's socket: it serves one FUSE mount and outlives daemon restarts. */
export const SERVER_ROUTES = {
  ping: { method: 'GET', path: '/v1/ping' },
  stats: { method: 'GET', path: '/v1/stats' },
  /** Unmounts, answers, then the server exits. */
  unmount: { method: 'POST', path: '/v1/unmount' },
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

/** A serving mount to record and look after, as its starter knows it. */
export interface AdoptRequest {
  reference: string;
  mountpoint: string;
  platform?: string;
  prefetch: PrefetchMode;
  mountedAt: string;
  serverPid: number;
  /** Its control socket: STATE/mounts/<id>.sock of the daemon's state dir. */
  serverSocket: string;
  /**
   * What the server reported in its handshake: answered as the mount's status instead of
   * asking the server again (a server that has just mounted is decoding its prefetch and
   * answers late).
   */
  readyStats?: MountServerStats;
}

export interface UmountRequest {
  mountpoint: string;
}

export interface ShutdownRequest {
  /**
   * Also stop every mount server (unmounting its mount; records kept for the next daemon).
   * Without it only the control side stops and the mounts keep serving.
   */
  unmountAll?: boolean;
}

/** A mount server's ping answer. */
export interface MountServerInfo {
  pid: number;
  version: string;
  mountpoint: string;
}

/** A mount server's stats answer: its mount, and the chunk cache of its process. */
export interface MountServerStats {
  mount: MountStatus;
  cache: CacheFigures;
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
  /** The process serving this mount's FUSE session (the daemon's own pid when in-process). */
  serverPid: number;
}

/** A recorded mount the daemon could not restore after a restart (kept for the next try or `umount`). */
export interface RestoreFailure {
  mountpoint: string;
  reference: string;
  error: { code: ErrorCode; message: string };
}

/** A mount whose server died or did not answer `status` in time (`umount` cleans it up). */
export interface UnreachableMount extends RestoreFailure {
  serverPid?: number;
}

export interface StatusReport {
  daemon: DaemonInfo;
  mounts: MountStatus[];
  /**
   * Memory: the sum over the mount servers' processes (each has its own memory cache).
   * Disk: one directory shared by all, so the largest figure any server reports.
   */
  cache: CacheFigures;
  restoreFailures: RestoreFailure[];
  unreachable: UnreachableMount[];
}
