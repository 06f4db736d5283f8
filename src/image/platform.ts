// Platforms: the host's, parsing `--platform OS/ARCH[/VARIANT]`, and choosing an index entry.

import { invalidArgument, notFound } from '../errors.js';
import type { Descriptor, Platform } from './oci-types.js';

/** Node's process.arch -> OCI architecture names (image-spec's GOARCH values). */
const ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
};

export function hostPlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch;
  const p: Platform = { os: 'linux', architecture };
  if (architecture === 'arm64') p.variant = 'v8';
  return p;
}

export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw invalidArgument(`bad platform "${text}": want OS/ARCH[/VARIANT], e.g. linux/amd64`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** arm64's variant defaults to v8 (containerd's normalisation); others match exactly when given. */
function variantMatches(want: Platform, have: Platform): boolean {
  if (!want.variant) return true;
  const norm = (p: Platform) => p.variant ?? (p.architecture === 'arm64' ? 'v8' : '');
  return norm(want) === norm(have);
}

/** Picks the manifest of an index for `want`; NOT_FOUND naming the platforms on offer. */
export function selectManifest(manifests: readonly Descriptor[], want: Platform, what: string): Descriptor {
  const candidates = manifests.filter((d) => {
    const p = d.platform;
    if (!p) return false;
    return p.os === want.os && p.architecture === want.architecture && variantMatches(want, p);
  });
  if (candidates.length > 0) return candidates[0]!;
  const offered = manifests.map((d) => (d.platform ? formatPlatform(d.platform) : 'unknown')).join(', ');
  throw notFound(`${what} has no manifest for ${formatPlatform(want)} (it offers: ${offered || 'nothing'})`);
}
