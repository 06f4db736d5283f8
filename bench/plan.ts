// Which scenarios a run does: --quick keeps a few that answer the main questions (lazy cold
// start vs full pull vs the peer, warm vs native, FUSE overhead on find) on loopback, once.

import { lazyMount, lazysnapFullPull, localTree, peerCase, skopeoUmoci, type BenchEnv, type LinkRef, type Scenario } from './scenarios.js';
import type { Workload } from './workloads.js';

export interface PlanOptions {
  quick: boolean;
  links: LinkRef[];
  sweep: LinkRef[];
  /** The format the peer reads: its own ctr-remote eStargz, or lazysnap's when that failed. */
  peerFormat: 'estargz' | 'estargz-ctr-remote';
}

export function plan(env: BenchEnv, all: Workload[], o: PlanOptions): Scenario[] {
  const by = (name: string): Workload | undefined => all.find((w) => w.name === name);
  const importJson = by('python-import-json') ?? by('sh-true')!;
  const out: Scenario[] = [];
  const fuseWorkloads = all.filter((w) => w.name === 'find' || w.name === 'tar');

  const loopback = o.links.find((l) => l.link === 'loopback')!;
  if (o.quick) {
    for (const w of [by('sh-true')!, importJson, by('find')!].filter((v, i, a) => v && a.indexOf(v) === i)) {
      out.push(lazyMount(env, w, loopback, 'estargz', 'landmark', true));
      out.push(localTree(env, w, 'native'));
    }
    out.push(peerCase(env, importJson, loopback, o.peerFormat, true));
    // Like for like, both ways: the peer on lazysnap's eStargz, lazysnap on the peer's.
    if (o.peerFormat === 'estargz-ctr-remote') {
      out.push(peerCase(env, importJson, loopback, 'estargz', false));
      out.push(lazyMount(env, importJson, loopback, 'estargz-ctr-remote', 'landmark', false));
    }
    for (const prefetch of ['none', 'all'] as const) out.push(lazyMount(env, importJson, loopback, 'estargz', prefetch, false));
    // Through the counting proxy (wire bytes, double fetches): eStargz and the peer again,
    // and the other formats only there (cold and warm), to stay within 3 minutes.
    for (const link of o.links.filter((l) => l.wire)) {
      out.push(lazyMount(env, importJson, link, 'estargz', 'landmark', false));
      for (const format of ['zstd-chunked', 'gzip'] as const) out.push(lazyMount(env, importJson, link, format, 'landmark', true));
      out.push(peerCase(env, importJson, link, o.peerFormat, false));
      if (o.peerFormat === 'estargz-ctr-remote') out.push(peerCase(env, importJson, link, 'estargz', false));
    }
    out.push(skopeoUmoci(env, importJson, loopback));
    out.push(lazysnapFullPull(env, importJson, loopback));
    out.push(localTree(env, by('find')!, 'fuse-overlayfs'));
    return out;
  }

  for (const w of all) out.push(localTree(env, w, 'native'));
  for (const w of fuseWorkloads) {
    out.push(localTree(env, w, 'squashfuse'));
    out.push(localTree(env, w, 'fuse-overlayfs'));
  }
  for (const link of o.links) {
    const warm = link.link === 'loopback';
    for (const w of all) {
      out.push(lazyMount(env, w, link, 'estargz', 'landmark', warm));
      // The peer on the very image lazysnap reads (what "vs peer" compares), and on its own
      // conversion (ctr-remote), which lazysnap also reads below for import json.
      if (o.peerFormat === 'estargz-ctr-remote') out.push(peerCase(env, w, link, 'estargz', warm));
      out.push(peerCase(env, w, link, o.peerFormat, warm));
      // Through the throttled link a full pull costs ~15 s a run: only where its ratio is a
      // goal (import json) and for the smallest workload; the pull dominates the rest anyway.
      if (warm || w === importJson || w.name === 'sh-true') out.push(skopeoUmoci(env, w, link));
    }
    // The same eStargz image for both loaders, when the peer has its own conversion.
    if (o.peerFormat === 'estargz-ctr-remote') out.push(lazyMount(env, importJson, link, 'estargz-ctr-remote', 'landmark', false));
    for (const format of ['zstd-chunked', 'gzip'] as const) out.push(lazyMount(env, importJson, link, format, 'landmark', warm));
    for (const prefetch of ['none', 'all'] as const) out.push(lazyMount(env, importJson, link, 'estargz', prefetch, false));
    out.push(lazysnapFullPull(env, importJson, link));
  }
  // Where lazy loading stops paying off: lazysnap against the outside full pull (skopeo +
  // umoci; lazysnap's own full pull is left out of the sweep to keep the run short).
  for (const link of o.sweep) {
    out.push(lazyMount(env, importJson, link, 'estargz', 'landmark', false));
    out.push(skopeoUmoci(env, importJson, link));
  }
  return out;
}
