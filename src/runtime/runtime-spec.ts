// An image config turned into an OCI runtime-spec config.json, with the defaults `runc
// spec` and containerd use (mounts, masked paths, namespaces) and docker's default
// capability set, so a container started from a lazy mount behaves as `docker run` would.
//
// Only the fields lazysnap fills are typed here; the shapes follow runtime-spec 1.0.

import { stat } from 'node:fs/promises';
import { isAbsolute, posix } from 'node:path';
import { invalidArgument } from '../errors.js';
import type { ImageConfig } from '../image/oci-types.js';
import { resolveImageUser } from './image-user.js';
import { resolveInRoot } from './resolve-in-root.js';

export const OCI_RUNTIME_SPEC_VERSION = '1.0.2';

export interface RuntimeMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export type NamespaceType = 'pid' | 'network' | 'ipc' | 'uts' | 'mount' | 'user' | 'cgroup';

export interface RuntimeSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    rlimits: Array<{ type: string; hard: number; soft: number }>;
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: RuntimeMount[];
  linux: {
    namespaces: Array<{ type: NamespaceType }>;
    maskedPaths: string[];
    readonlyPaths: string[];
    resources: { devices: Array<{ allow: boolean; access: string }> };
  };
}

export interface RuntimeSpecOptions {
  /** absolute host path of the container's root (usually a lazy mount) */
  rootPath: string;
  /** mount the root read-only (default true: a lazy image mount is read-only) */
  readonlyRoot?: boolean;
  /** replaces the image's Cmd, as `docker run IMAGE ARGS...` does; Entrypoint stays */
  args?: string[];
  /** extra KEY=VALUE entries; they override the image's Env by key */
  env?: string[];
  /** allocate a terminal for the process (the runtime needs a tty then) */
  terminal?: boolean;
  hostname?: string;
  /** share the host's network namespace (default true) so servers answer on loopback */
  networkHost?: boolean;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** docker's default capability set (moby oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** runc's and containerd's defaults: kernel interfaces a container must not read or write. */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi',
  '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger',
];

/**
 * Builds config.json for `config` run on `opts.rootPath`. Async because a named image
 * user is looked up in the root's /etc/passwd (with async fs: the root may be served by
 * this process).
 */
export async function createRuntimeSpec(config: ImageConfig, opts: RuntimeSpecOptions): Promise<RuntimeSpec> {
  if (!isAbsolute(opts.rootPath)) throw invalidArgument(`root path "${opts.rootPath}" is not absolute`);
  const readonlyRoot = opts.readonlyRoot ?? true;
  const networkHost = opts.networkHost ?? true;
  const image = config.config ?? {};

  const args = [...(image.Entrypoint ?? []), ...(opts.args ?? image.Cmd ?? [])];
  if (args.length === 0) {
    throw invalidArgument('nothing to run: the image has no Entrypoint or Cmd and no command was given');
  }

  const user = await resolveImageUser(opts.rootPath, image.User);
  const env = mergeEnv(image.Env ?? [], opts.env ?? []);
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  // docker sets HOME from /etc/passwd and TERM for a terminal when the image does not.
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home || '/'}`);
  if (opts.terminal && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');

  const caps = [...DEFAULT_CAPABILITIES];
  return {
    ociVersion: OCI_RUNTIME_SPEC_VERSION,
    process: {
      terminal: opts.terminal ?? false,
      user: {
        uid: user.uid, gid: user.gid,
        ...(user.additionalGids ? { additionalGids: user.additionalGids } : {}),
      },
      args,
      env,
      // The spec wants an absolute cwd; docker treats a relative WorkingDir as from /.
      cwd: posix.join('/', image.WorkingDir || '/'),
      capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
      // containerd's default; the runtime's own limit would leak the daemon's settings.
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: opts.rootPath, readonly: readonlyRoot },
    hostname: opts.hostname ?? 'lazysnap',
    mounts: await defaultMounts(opts.rootPath, readonlyRoot, networkHost),
    linux: {
      namespaces: [
        { type: 'pid' },
        ...(networkHost ? [] : [{ type: 'network' as const }]),
        { type: 'ipc' }, { type: 'uts' }, { type: 'mount' },
      ],
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
      // Deny every device node; runtimes add back the defaults (/dev/null, ...) they create.
      resources: { devices: [{ allow: false, access: 'rwm' }] },
    },
  };
}

/** Image Env then `extra`, later keys replacing earlier ones in place. */
function mergeEnv(imageEnv: string[], extra: string[]): string[] {
  const out: string[] = [];
  const index = new Map<string, number>();
  for (const [from, entry] of [...imageEnv.map((e) => ['image', e] as const), ...extra.map((e) => ['option', e] as const)]) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw invalidArgument(`environment entry "${entry}" (from ${from}) is not KEY=VALUE`);
    const key = entry.slice(0, eq);
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, out.length);
      out.push(entry);
    } else {
      out[at] = entry;
    }
  }
  return out;
}

async function defaultMounts(rootPath: string, readonlyRoot: boolean, networkHost: boolean): Promise<RuntimeMount[]> {
  const mounts: RuntimeMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    // The kernel refuses a new sysfs to a process outside the network namespace that
    // owns it, so with the host network docker binds the host's /sys instead.
    networkHost
      ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  ];
  // Writable scratch space so programs work on a read-only root. A runtime cannot create
  // a missing mount point on a read-only root, so those are left out rather than fail.
  for (const destination of ['/tmp', '/run']) {
    if (readonlyRoot && !(await isDirectoryInRoot(rootPath, destination))) continue;
    const mode = destination === '/tmp' ? 'mode=1777' : 'mode=755';
    mounts.push({ destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', mode] });
  }
  return mounts;
}

async function isDirectoryInRoot(rootPath: string, containerPath: string): Promise<boolean> {
  try {
    return (await stat(await resolveInRoot(rootPath, containerPath))).isDirectory();
  } catch {
    return false;
  }
}
