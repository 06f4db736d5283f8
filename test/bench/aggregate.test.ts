// The bench's ratios against the peer: like for like. A lazysnap eStargz case is compared
// with the peer on the very same image only, never with the peer on another conversion
// (ctr-remote's landmark and chunking differ); formats the peer cannot read are compared
// with the peer on lazysnap's eStargz of the same source image.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addRatios, toCase } from '../../bench/aggregate.js';
import type { CaseKey, CaseResult, Format } from '../../bench/types.js';

const cold = (system: CaseKey['system'], format: Format, ms: number): CaseResult =>
  toCase({ system, mode: 'cold', workload: 'python-import-json', link: 'loopback', format }, [{ ms }], {});

test('vs peer: the peer on the same image, else (non-eStargz) the peer on lazysnap\'s eStargz', () => {
  const peerOwn = cold('stargz-peer', 'estargz-ctr-remote', 1000);
  const peerOurs = cold('stargz-peer', 'estargz', 500);
  const lazyOurs = cold('lazysnap', 'estargz', 800);
  const lazyTheirs = cold('lazysnap', 'estargz-ctr-remote', 1800);
  const lazyZstd = cold('lazysnap', 'zstd-chunked', 2000);
  addRatios([peerOwn, peerOurs, lazyOurs, lazyTheirs, lazyZstd]);
  assert.equal(lazyOurs.ratios.timeVsPeer, 800 / 500);
  assert.equal(lazyTheirs.ratios.timeVsPeer, 1800 / 1000);
  assert.equal(lazyZstd.ratios.timeVsPeer, 2000 / 500);
});

test('vs peer: no ratio for an eStargz case whose own image the peer did not read', () => {
  const peerOwn = cold('stargz-peer', 'estargz-ctr-remote', 1000);
  const lazyOurs = cold('lazysnap', 'estargz', 800);
  addRatios([peerOwn, lazyOurs]);
  assert.equal(lazyOurs.ratios.timeVsPeer, undefined);
});
