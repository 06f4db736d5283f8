// Image references: `HOST[:PORT]/NAME[:TAG][@DIGEST]` normalised as docker does
// (distribution/reference's ParseNormalizedNamed), and `oci:PATH[:TAG]` for an OCI image
// layout on disk. Parsing validates every part, so later code can put the parts in URLs.

import { resolve as resolvePath } from 'node:path';
import { invalidArgument } from '../errors.js';
import { digestProblem } from './digest.js';

export interface RegistryReference {
  kind: 'registry';
  /** `docker.io`, `127.0.0.1:5000`, `[::1]:5000`, `registry.example.com` */
  host: string;
  /** `library/debian`, `a/b` */
  repository: string;
  tag?: string;
  digest?: string;
}

export interface OciLayoutReference {
  kind: 'oci';
  /** Absolute path of the layout directory (a relative input is resolved against the cwd). */
  path: string;
  tag?: string;
}

export type ImageReference = RegistryReference | OciLayoutReference;

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';
const DEFAULT_TAG = 'latest';
/** distribution/reference: a name (host + path) is at most 255 characters. */
const MAX_NAME_LENGTH = 255;

// distribution-spec grammar.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:.]+\\])(?::[0-9]{1,5})?$`);

function bad(input: string, why: string): never {
  throw invalidArgument(`bad image reference "${input}": ${why}`);
}

export function parseReference(input: string): ImageReference {
  if (typeof input !== 'string' || input.length === 0) bad(String(input), 'empty');
  if (/[\s\0]/.test(input)) bad(input, 'contains whitespace or control characters');
  if (input.startsWith('oci:')) return parseOci(input);
  return parseRegistry(input);
}

function parseOci(input: string): OciLayoutReference {
  const rest = input.slice('oci:'.length);
  let path = rest;
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  // The tag follows the last ':' only when that part has no '/' (a path may hold ':').
  if (colon >= 0 && !rest.slice(colon + 1).includes('/')) {
    path = rest.slice(0, colon);
    tag = rest.slice(colon + 1);
    if (!TAG_RE.test(tag)) bad(input, `bad tag "${tag}" (want [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`);
  }
  if (path.length === 0) bad(input, 'no layout path after "oci:"');
  const ref: OciLayoutReference = { kind: 'oci', path: resolvePath(path) };
  if (tag !== undefined) ref.tag = tag;
  return ref;
}

function parseRegistry(input: string): RegistryReference {
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem) bad(input, `bad digest "${digest}" (${problem})`);
  }
  // Docker's rule: the first component is a host when it has '.' or ':', is
  // "localhost", or has upper case letters (repository paths are lower case only).
  let host = DOCKER_HUB;
  let remainder = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase()) {
      host = first;
      remainder = rest.slice(slash + 1);
    }
  }
  let tag: string | undefined;
  const lastSlash = remainder.lastIndexOf('/');
  const colon = remainder.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = remainder.slice(colon + 1);
    remainder = remainder.slice(0, colon);
    if (!TAG_RE.test(tag)) bad(input, `bad tag "${tag}" (want [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`);
  }
  if (!HOST_RE.test(host)) bad(input, `bad registry host "${host}"`);
  const port = /:([0-9]+)$/.exec(host)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) bad(input, `bad port ${port}`);
  if (host === 'index.docker.io') host = DOCKER_HUB;
  if (remainder.length === 0) bad(input, 'no repository name');
  const components = remainder.split('/');
  for (const c of components) {
    if (!PATH_COMPONENT.test(c)) {
      bad(input, `bad repository name component "${c}" (lower case letters, digits and separators . _ __ - only)`);
    }
  }
  let repository = remainder;
  if (host === DOCKER_HUB && components.length === 1) repository = `library/${repository}`;
  if (host.length + 1 + repository.length > MAX_NAME_LENGTH) bad(input, `name longer than ${MAX_NAME_LENGTH} characters`);
  const ref: RegistryReference = { kind: 'registry', host, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = DEFAULT_TAG;
  return ref;
}

/** The canonical string: `docker.io/library/debian:latest`, `h:5000/a/b:t@sha256:..`, `oci:/abs:t`. */
export function formatReference(ref: ImageReference): string {
  if (ref.kind === 'oci') return `oci:${ref.path}${ref.tag !== undefined ? `:${ref.tag}` : ''}`;
  return `${ref.host}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The host to send API requests to: Docker Hub's API lives on registry-1.docker.io. */
export function apiHost(host: string): string {
  return host === DOCKER_HUB ? DOCKER_HUB_API : host;
}

/** What a manifest request names: the digest when there is one (it pins the content), else the tag. */
export function manifestRef(ref: RegistryReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}
