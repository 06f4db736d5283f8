// Registry credentials from docker's config.json (`$DOCKER_CONFIG/config.json`, else
// `~/.docker/config.json`): `auths[host]` (auth = base64 user:pass, or username/password,
// or identitytoken), `credHelpers[host]` and `credsStore` (docker-credential-NAME get).
// `saveLogin`/`removeLogin` edit `auths` atomically and keep every other key.

import { execFile } from 'node:child_process';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { invalidArgument, unavailable } from '../errors.js';
import { LIMITS } from './options.js';
import { programEnv } from './extra-ca.js';

export type Credentials =
  | { kind: 'basic'; username: string; password: string }
  /** An OAuth2 refresh token (docker login with an identity provider). */
  | { kind: 'identity'; username?: string; identityToken: string };

interface AuthEntry { auth?: unknown; username?: unknown; password?: unknown; identitytoken?: unknown }
interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [key: string]: unknown;
}

/** docker.io is stored under its v1 index URL by docker; these all mean Docker Hub. */
const DOCKER_HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'];
const DOCKER_HUB_SAVE_KEY = 'https://index.docker.io/v1/';
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** `https://host:5000/v1/` -> `host:5000` (config keys may be URLs). */
function keyHost(key: string): string {
  return key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

function aliases(host: string): string[] {
  const h = host.toLowerCase();
  return DOCKER_HUB_KEYS.map(keyHost).includes(h) ? DOCKER_HUB_KEYS.map(keyHost) : [h];
}

export interface CredentialStoreOptions {
  /** Directory holding config.json (default $DOCKER_CONFIG, else ~/.docker). */
  configDir?: string;
  helperTimeoutMs?: number;
}

export class CredentialStore {
  readonly configDir: string;
  private readonly helperTimeoutMs: number;

  constructor(o: CredentialStoreOptions = {}) {
    this.configDir = o.configDir ?? process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
    this.helperTimeoutMs = o.helperTimeoutMs ?? 10_000;
  }

  get configPath(): string {
    return join(this.configDir, 'config.json');
  }

  private async readConfig(): Promise<DockerConfig> {
    let text: string;
    try {
      const buf = await readFile(this.configPath);
      if (buf.length > LIMITS.maxDockerConfigBytes) throw invalidArgument(`${this.configPath} is larger than ${LIMITS.maxDockerConfigBytes} bytes`);
      text = buf.toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    try {
      const doc = JSON.parse(text) as unknown;
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object');
      return doc as DockerConfig;
    } catch (err) {
      throw invalidArgument(`${this.configPath}: not valid docker config JSON: ${(err as Error).message}`, err);
    }
  }

  /** The credentials for `host` (as written in the reference, `docker.io` for Hub), if any. */
  async get(host: string): Promise<Credentials | undefined> {
    const config = await this.readConfig();
    const names = aliases(host);
    const helper = findKey(config.credHelpers, names);
    if (helper !== undefined && typeof config.credHelpers![helper] === 'string') {
      return this.runHelper(config.credHelpers![helper]!, host);
    }
    const entryKey = findKey(config.auths, names);
    if (entryKey !== undefined) {
      const fromFile = decodeEntry(config.auths![entryKey]!, `${this.configPath} auths["${entryKey}"]`);
      if (fromFile) return fromFile;
    }
    if (typeof config.credsStore === 'string' && config.credsStore !== '') {
      return this.runHelper(config.credsStore, host);
    }
    return undefined;
  }

  /** Runs `docker-credential-NAME get` with the server URL on stdin (docker's protocol). */
  private async runHelper(name: string, host: string): Promise<Credentials | undefined> {
    if (!HELPER_NAME.test(name)) throw invalidArgument(`${this.configPath}: bad credential helper name "${name}"`);
    const program = `docker-credential-${name}`;
    const serverUrl = aliases(host).length > 1 ? DOCKER_HUB_SAVE_KEY : host;
    const out = await new Promise<string>((resolve, reject) => {
      // programEnv: a helper written for node gets NODE_EXTRA_CA_CERTS back (extra-ca.ts).
      const child = execFile(program, ['get'], { env: programEnv(process.env), timeout: this.helperTimeoutMs, maxBuffer: LIMITS.maxHelperOutputBytes, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const text = `${stdout}${stderr}`;
          // The helper protocol's "no such credentials" answer is not a failure.
          if (/credentials not found/i.test(text)) return resolve('');
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          if (e.code === 'ENOENT') return reject(invalidArgument(`credential helper ${program} (configured in ${this.configPath}) is not on PATH`, err));
          if (e.killed) return reject(unavailable(`credential helper ${program} did not answer within ${this.helperTimeoutMs} ms`, err));
          reject(unavailable(`credential helper ${program} failed for ${host}: ${text.trim().slice(0, 200) || e.message}`, err));
        });
      child.stdin?.on('error', () => {});
      child.stdin?.end(serverUrl);
    });
    if (out.trim() === '') return undefined;
    let doc: { Username?: unknown; Secret?: unknown };
    try {
      doc = JSON.parse(out) as typeof doc;
    } catch (err) {
      throw unavailable(`credential helper ${program} printed something that is not JSON`, err);
    }
    if (typeof doc.Secret !== 'string' || doc.Secret === '') return undefined;
    // docker's convention: Username "<token>" means Secret is an identity token.
    if (doc.Username === '<token>') return { kind: 'identity', identityToken: doc.Secret };
    if (typeof doc.Username !== 'string') throw unavailable(`credential helper ${program} gave no Username`);
    return { kind: 'basic', username: doc.Username, password: doc.Secret };
  }

  /** Stores user:pass for `host` in config.json `auths` (temp file + rename, mode 0600). */
  async saveLogin(host: string, username: string, password: string): Promise<void> {
    if (username === '' || username.includes(':')) throw invalidArgument(`bad user name "${username}" (empty or contains ':')`);
    if (password === '') throw invalidArgument('empty password');
    await this.edit((config) => {
      const auths = (config.auths && typeof config.auths === 'object' ? config.auths : {}) as Record<string, AuthEntry>;
      for (const k of Object.keys(auths)) if (aliases(host).includes(keyHost(k))) delete auths[k];
      const key = aliases(host).length > 1 ? DOCKER_HUB_SAVE_KEY : host;
      auths[key] = { auth: Buffer.from(`${username}:${password}`, 'utf8').toString('base64') };
      config.auths = auths;
    });
  }

  /** Forgets `host` in config.json `auths`; true when there was something to forget. */
  async removeLogin(host: string): Promise<boolean> {
    let removed = false;
    await this.edit((config) => {
      const auths = config.auths ?? {};
      for (const k of Object.keys(auths)) {
        if (aliases(host).includes(keyHost(k))) {
          delete auths[k];
          removed = true;
        }
      }
    });
    return removed;
  }

  private async edit(change: (config: DockerConfig) => void): Promise<void> {
    const config = await this.readConfig();
    change(config);
    await mkdir(this.configDir, { recursive: true, mode: 0o700 });
    const tmp = join(this.configDir, `.config.json.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(config, null, '\t')}\n`);
      await fh.sync();
    } catch (err) {
      await fh.close();
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await fh.close();
    try {
      await rename(tmp, this.configPath);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }
}

function findKey(table: Record<string, unknown> | undefined, names: string[]): string | undefined {
  if (!table || typeof table !== 'object') return undefined;
  // An exact key wins over a URL-shaped one for the same host.
  for (const n of names) if (Object.hasOwn(table, n)) return n;
  return Object.keys(table).find((k) => names.includes(keyHost(k)));
}

function decodeEntry(e: AuthEntry, where: string): Credentials | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  if (typeof e.identitytoken === 'string' && e.identitytoken !== '') {
    const c: Credentials = { kind: 'identity', identityToken: e.identitytoken };
    if (typeof e.username === 'string') c.username = e.username;
    return c;
  }
  if (typeof e.auth === 'string' && e.auth !== '') {
    const text = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0) throw invalidArgument(`${where}.auth is not base64 of user:password`);
    return { kind: 'basic', username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (typeof e.username === 'string' && typeof e.password === 'string' && e.username !== '') {
    return { kind: 'basic', username: e.username, password: e.password };
  }
  return undefined;
}
