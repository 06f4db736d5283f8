// Registry authentication (distribution "token authentication" spec). The first request
// to a host goes without credentials; a 401 names the scheme in its challenge, and the
// request is made again with them (registry-http.ts), as containerd's resolver does. No
// `GET /v2/` ping first, as docker does: it costs every registry a round trip before the
// manifest, and one that wants credentials answers the first real request with the same
// challenge. Bearer: fetch a token from the realm for `repository:NAME:pull[,push]` (with
// basic credentials when we have them), cache it per (host, scope) until expires_in
// elapses. Basic: send the credentials directly.

import { unauthorized, unavailable } from '../errors.js';
import { readSmall } from './body.js';
import type { CredentialStore, Credentials } from './credentials.js';
import { statusError } from './http-errors.js';
import { LIMITS, type ResolvedOptions } from './options.js';
import { TransientError, parseRetryAfter } from './retry.js';
import { firstHeader, type Meter, type Transport } from './transport.js';
import { parseWwwAuthenticate, type Challenge } from './www-authenticate.js';

/** Token lifetime when the server does not say (the token spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;
/** Refuse silly lifetimes so a bad server cannot make us cache a token forever. */
const MAX_TOKEN_SECONDS = 24 * 3600;

interface CachedToken { value: string; expiresAt: number }

export function scopeFor(repository: string, push: boolean): string {
  return `repository:${repository}:${push ? 'pull,push' : 'pull'}`;
}

function pick(challenges: Challenge[]): Challenge | null {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic') ?? null;
}

export class Authenticator {
  /** Per host: the challenge its last 401 carried (absent: none seen, send no credentials). */
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  /** Explicit credentials per host (login), taking precedence over the config file. */
  private readonly overrides = new Map<string, Credentials>();

  constructor(
    private readonly transport: Transport,
    private readonly credentials: CredentialStore,
    private readonly opts: ResolvedOptions,
  ) {}

  /** Use these credentials for `host` instead of the docker config (login checks them this way). */
  setCredentials(host: string, creds: Credentials | undefined): void {
    if (creds) this.overrides.set(host, creds);
    else this.overrides.delete(host);
    this.forget(host);
  }

  /** Drops everything known about `host` (challenge and tokens). */
  forget(host: string): void {
    this.challenges.delete(host);
    for (const k of this.tokens.keys()) if (k.startsWith(`${host} `)) this.tokens.delete(k);
  }

  private async credentialsFor(host: string): Promise<Credentials | undefined> {
    return this.overrides.get(host) ?? this.credentials.get(host);
  }

  /**
   * The Authorization header value for requests to `host` under `scope`, if one is needed.
   * Makes one attempt at the token request (a TransientError on a passing fault):
   * callers run it inside their retry loop, so retries do not multiply.
   */
  async authorization(host: string, scope: string | undefined, meter: Meter, signal?: AbortSignal): Promise<string | undefined> {
    const challenge = this.challenges.get(host);
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      const creds = await this.credentialsFor(host);
      if (creds?.kind === 'basic') return basicHeader(creds);
      return undefined;
    }
    if (challenge.scheme !== 'bearer') throw unauthorized(`registry ${host} wants "${challenge.scheme}" authentication, which lazysnap does not speak`);
    const effectiveScope = scope ?? challenge.params.scope ?? '';
    const key = `${host} ${effectiveScope}`;
    const cached = this.tokens.get(key);
    if (cached) {
      const t = await cached.catch(() => undefined);
      if (t && t.expiresAt > this.opts.now()) return `Bearer ${t.value}`;
      if (this.tokens.get(key) === cached) this.tokens.delete(key);
    }
    const fresh = this.fetchToken(host, challenge, effectiveScope, meter, signal);
    this.tokens.set(key, fresh);
    fresh.catch(() => { if (this.tokens.get(key) === fresh) this.tokens.delete(key); });
    return `Bearer ${(await fresh).value}`;
  }

  /**
   * A request was refused with 401: drop the token we sent and take the challenge the
   * refusal carries (it may differ from an earlier one, e.g. for another repository).
   */
  refused(host: string, scope: string | undefined, wwwAuthenticate: string | string[] | undefined): void {
    const challenge = pick(parseWwwAuthenticate(wwwAuthenticate));
    if (scope !== undefined) this.tokens.delete(`${host} ${scope}`);
    else this.forget(host);
    if (challenge) this.challenges.set(host, challenge);
  }

  private async fetchToken(host: string, challenge: Challenge, scope: string, meter: Meter, signal?: AbortSignal): Promise<CachedToken> {
    const realmText = challenge.params.realm;
    let realm: URL;
    try {
      realm = new URL(realmText ?? '');
      if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw new Error('not http(s)');
    } catch (err) {
      throw unauthorized(`registry ${host}: bad token realm "${realmText ?? ''}" in its WWW-Authenticate`, err);
    }
    const creds = await this.credentialsFor(host);
    // Secrets never go over plain HTTP unless that host is loopback or named insecure.
    const mayAuth = realm.protocol === 'https:' || this.transport.mayUsePlainHttp(realm);
    const what = `token for ${scope || host} from ${realm.origin}${realm.pathname}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    let res;
    if (creds?.kind === 'identity' && mayAuth) {
      // OAuth2 refresh-token grant, as docker does with an identity token.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'lazysnap' });
      if (challenge.params.service) form.set('service', challenge.params.service);
      if (scope) form.set('scope', scope);
      headers['content-type'] = 'application/x-www-form-urlencoded';
      res = await this.transport.send({ method: 'POST', url: realm, headers, body: Buffer.from(form.toString()), signal }, meter);
    } else {
      const url = new URL(realm);
      if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
      if (scope) url.searchParams.set('scope', scope);
      if (creds?.kind === 'basic' && mayAuth) headers.authorization = basicHeader(creds);
      res = await this.transport.send({ method: 'GET', url, headers, signal }, meter);
    }
    const body = await readSmall(res.body, LIMITS.maxTokenBodyBytes, meter.bytes);
    if (res.status !== 200) {
      const retryAfter = parseRetryAfter(firstHeader(res.headers['retry-after']), this.opts.now());
      const err = statusError(res.status, what, body, retryAfter);
      if (res.status === 401 || res.status === 403) throw unauthorized(`${what}: refused (HTTP ${res.status}); check the credentials for ${host}`);
      throw err;
    }
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch (err) {
      throw new TransientError(`${what}: answer is not JSON`, undefined, { cause: err });
    }
    const value = typeof doc.token === 'string' && doc.token ? doc.token : doc.access_token;
    if (typeof value !== 'string' || value === '') throw unavailable(`${what}: answer holds no token`);
    let seconds = typeof doc.expires_in === 'number' && Number.isFinite(doc.expires_in) && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_SECONDS;
    seconds = Math.min(seconds, MAX_TOKEN_SECONDS);
    return { value, expiresAt: this.opts.now() + seconds * 1000 };
  }
}

function basicHeader(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}
