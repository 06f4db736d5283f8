import { it } from 'node:test';
import assert from 'node:assert/strict';
import { FetchLimiter } from '../../src/cache/fetch-limiter.js';
import { codeOf } from '../../src/errors.js';

const later = () => {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
};

it('runs at most maxConcurrent jobs, demand before prefetch, one prefetch at a time', async () => {
  const limiter = new FetchLimiter(2);
  const order: string[] = [];
  const gates = new Map<string, ReturnType<typeof later>>();
  const job = (name: string, priority: 'demand' | 'prefetch') => {
    const g = later();
    gates.set(name, g);
    return limiter.run(priority, async () => { order.push(name); await g.p; });
  };
  const all = [job('p1', 'prefetch'), job('p2', 'prefetch'), job('d1', 'demand'), job('d2', 'demand'), job('d3', 'demand')];
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['p1', 'd1'], 'prefetch holds one slot; p2 waits behind it');
  assert.equal(limiter.active, 2);
  gates.get('p1')!.open();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['p1', 'd1', 'd2'], 'queued demand goes before queued prefetch');
  for (const n of ['d1', 'd2', 'd3', 'p2']) {
    gates.get(n)?.open();
    await new Promise((r) => setImmediate(r));
  }
  gates.get('d3')!.open();
  gates.get('p2')!.open();
  await Promise.all(all);
  assert.deepEqual(order, ['p1', 'd1', 'd2', 'd3', 'p2']);
});

it('cancels a queued job whose signal aborts', async () => {
  const limiter = new FetchLimiter(1);
  const g = later();
  const first = limiter.run('demand', () => g.p);
  const ac = new AbortController();
  let ran = false;
  const second = limiter.run('demand', async () => { ran = true; }, ac.signal);
  ac.abort();
  await assert.rejects(second, (e) => codeOf(e) === 'UNAVAILABLE');
  assert.equal(limiter.queued, 0);
  g.open();
  await first;
  assert.equal(ran, false);
});

it('checks maxConcurrent', () => {
  for (const bad of [0, -1, 1.5, 1e9]) assert.throws(() => new FetchLimiter(bad), (e) => codeOf(e) === 'INVALID_ARGUMENT');
});
