// Options of the registry client, their defaults, and the caps every buffer is held to.

import { invalidArgument } from '../errors.js';

export interface RetryOptions {
  /** Attempts in all, including the first (>= 1). */
  attempts: number;
  /** Delay before the first retry; doubled each time, with full jitter. */
  baseDelayMs: number;
  /** Cap of one delay, also of a server's Retry-After. */
  maxDelayMs: number;
}

export interface TimeoutOptions {
  connectMs: number;
  /** Time to wait for response headers. */
  headersMs: number;
  /** Longest silence while a body is arriving. */
  bodyMs: number;
}

export interface RegistryClientOptions {
  /** Hosts (`host[:port]`) spoken to over plain HTTP although not loopback. */
  insecureHosts?: readonly string[];
  /** Directory of docker's config.json (default $DOCKER_CONFIG, else ~/.docker). */
  dockerConfigDir?: string;
  /** Where blobs from registries that ignore Range are spooled (default os.tmpdir()). */
  spoolDir?: string;
  retry?: Partial<RetryOptions>;
  timeouts?: Partial<TimeoutOptions>;
  /** Time for a docker-credential helper to answer. */
  credentialHelperTimeoutMs?: number;
  /** Milliseconds since the epoch; tests move time to expire tokens. */
  now?: () => number;
  /** User-Agent header. */
  userAgent?: string;
  /** PEM files of CA certificates trusted besides node's (extra-ca.ts: LAZYSNAP_EXTRA_CA_CERTS). */
  extraCaFiles?: readonly string[];
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 4, baseDelayMs: 200, maxDelayMs: 10_000 };
export const DEFAULT_TIMEOUTS: TimeoutOptions = { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000 };

export const LIMITS = {
  /** Manifests and indexes larger than this are refused (containerd uses 4 MiB too). */
  maxManifestBytes: 4 * 1024 * 1024,
  /** Error bodies and token responses are small JSON documents. */
  maxErrorBodyBytes: 64 * 1024,
  maxTokenBodyBytes: 1024 * 1024,
  /** Redirect hops followed for one blob request. */
  maxRedirects: 5,
  /** Blobs whose redirect target is remembered. */
  redirectCacheEntries: 4096,
  /** Longest credential helper output we read. */
  maxHelperOutputBytes: 64 * 1024,
  /** Largest docker config.json we read. */
  maxDockerConfigBytes: 4 * 1024 * 1024,
} as const;

export interface ResolvedOptions {
  insecureHosts: ReadonlySet<string>;
  retry: RetryOptions;
  timeouts: TimeoutOptions;
  now: () => number;
  userAgent: string;
  extraCaFiles: readonly string[];
}

function positive(value: number, name: string, min = 0): number {
  if (!Number.isSafeInteger(value) || value < min) throw invalidArgument(`registry client option ${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

export function resolveOptions(o: RegistryClientOptions): ResolvedOptions {
  const retry = { ...DEFAULT_RETRY, ...o.retry };
  const timeouts = { ...DEFAULT_TIMEOUTS, ...o.timeouts };
  positive(retry.attempts, 'retry.attempts', 1);
  positive(retry.baseDelayMs, 'retry.baseDelayMs');
  positive(retry.maxDelayMs, 'retry.maxDelayMs');
  positive(timeouts.connectMs, 'timeouts.connectMs', 1);
  positive(timeouts.headersMs, 'timeouts.headersMs', 1);
  positive(timeouts.bodyMs, 'timeouts.bodyMs', 1);
  return {
    insecureHosts: new Set((o.insecureHosts ?? []).map((h) => h.trim().toLowerCase()).filter((h) => h !== '')),
    retry,
    timeouts,
    now: o.now ?? Date.now,
    userAgent: o.userAgent ?? 'lazysnap/0.1.0',
    extraCaFiles: (o.extraCaFiles ?? []).filter((f) => f !== ''),
  };
}
