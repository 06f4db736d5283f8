// The image config's `User` ("", "uid", "name", "uid:gid", "name:group", ...) turned into
// the numeric ids a runtime needs, with docker's rules: names come from the root's
// /etc/passwd and /etc/group; a numeric uid need not exist there (gid then defaults to
// 0); supplementary groups come from /etc/group only when no group was given.
//
// Files are read with async fs: the root is usually this process's own FUSE mount.

import { readFile } from 'node:fs/promises';
import { invalidArgument } from '../errors.js';
import { resolveInRoot } from './resolve-in-root.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** supplementary groups from /etc/group; absent when there are none */
  additionalGids?: number[];
  /** the home directory from /etc/passwd, for a default HOME */
  home?: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

/** Caps what is read from a root's account files: they are a few KiB in any real image. */
const MAX_ACCOUNT_FILE_BYTES = 4 * 1024 * 1024;

/** Resolves `user` (the image's config.User) against the account files under rootPath. */
export async function resolveImageUser(rootPath: string, user: string | undefined): Promise<ResolvedUser> {
  const spec = (user ?? '').trim();
  const colon = spec.indexOf(':');
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? '' : spec.slice(colon + 1);
  if (colon >= 0 && groupPart === '') throw invalidArgument(`image user "${spec}": empty group after ':'`);

  const passwd = await readAccountFile(rootPath, '/etc/passwd', parsePasswdLine);
  let uid = 0;
  let gid = 0;
  let name: string | undefined = 'root';
  let home: string | undefined;
  if (userPart !== '') {
    const numeric = parseId(userPart);
    const entry = numeric !== undefined
      ? passwd?.find((e) => e.uid === numeric)
      : passwd?.find((e) => e.name === userPart);
    if (numeric === undefined && !entry) {
      throw invalidArgument(`image user "${userPart}" not found in ${passwd ? '' : 'missing '}/etc/passwd of ${rootPath}`);
    }
    uid = numeric ?? (entry as PasswdEntry).uid;
    gid = entry?.gid ?? 0;
    name = entry?.name;
    home = entry?.home;
  } else {
    const entry = passwd?.find((e) => e.uid === 0);
    home = entry?.home;
    name = entry?.name ?? 'root';
  }

  const needGroups = groupPart !== '' ? parseId(groupPart) === undefined : name !== undefined;
  const groups = needGroups ? await readAccountFile(rootPath, '/etc/group', parseGroupLine) : undefined;
  if (groupPart !== '') {
    const numeric = parseId(groupPart);
    if (numeric !== undefined) {
      gid = numeric;
    } else {
      const entry = groups?.find((g) => g.name === groupPart);
      if (!entry) {
        throw invalidArgument(`image group "${groupPart}" not found in ${groups ? '' : 'missing '}/etc/group of ${rootPath}`);
      }
      gid = entry.gid;
    }
    return { uid, gid, ...(home !== undefined ? { home } : {}) };
  }

  const extra = name === undefined ? [] : (groups ?? [])
    .filter((g) => g.members.includes(name as string) && g.gid !== gid)
    .map((g) => g.gid);
  const additionalGids = [...new Set(extra)];
  return {
    uid, gid,
    ...(additionalGids.length > 0 ? { additionalGids } : {}),
    ...(home !== undefined ? { home } : {}),
  };
}

/** Entries of an account file, or undefined when the root has no such file. */
async function readAccountFile<T>(rootPath: string, containerPath: string,
  parseLine: (line: string) => T | undefined): Promise<T[] | undefined> {
  const hostPath = await resolveInRoot(rootPath, containerPath);
  let text: string;
  try {
    const buf = await readFile(hostPath);
    if (buf.length > MAX_ACCOUNT_FILE_BYTES) {
      throw invalidArgument(`${containerPath} of ${rootPath} is ${buf.length} bytes, over the ${MAX_ACCOUNT_FILE_BYTES}-byte cap`);
    }
    text = buf.toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const entry = parseLine(line);
    if (entry) out.push(entry); // malformed lines are skipped, as libc does
  }
  return out;
}

function parsePasswdLine(line: string): PasswdEntry | undefined {
  const f = line.split(':');
  const uid = parseId(f[2] ?? '');
  const gid = parseId(f[3] ?? '');
  if (f.length < 4 || uid === undefined || gid === undefined) return undefined;
  return { name: f[0] as string, uid, gid, home: f[5] ?? '' };
}

function parseGroupLine(line: string): GroupEntry | undefined {
  const f = line.split(':');
  const gid = parseId(f[2] ?? '');
  if (f.length < 3 || gid === undefined) return undefined;
  return { name: f[0] as string, gid, members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) };
}

/** A decimal id in the kernel's 32-bit range, else undefined (then it is a name). */
function parseId(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
}
