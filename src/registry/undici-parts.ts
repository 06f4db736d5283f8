// The parts of undici lazysnap uses, loaded on their own: the Agent (connection pools
// per origin), request() (the promise API over a dispatcher) and buildConnector (the
// Agent's own socket connector, which the Agent loads anyway). undici's index loads
// everything else too (fetch, WebSocket, EventSource, cookies, the mock agent, caches), and
// its cookies module touches the global Headers, which makes node load its own bundled
// copy of undici as well: measured, 66-91 ms and 8 MB more in every process that talks to
// a registry (each mount server, on a cold mount's path), against 22-25 ms for these two.
// The index does what we do here: Object.assign(Dispatcher.prototype, api).
// The package has no "exports" map, so these paths are public to node's resolver; the
// registry tests exercise both on every run, and a layout change fails loudly below.

import type { Agent as UndiciAgent, Dispatcher, buildConnector as BuildConnector } from 'undici';
import AgentModule from 'undici/lib/dispatcher/agent.js';
import requestModule from 'undici/lib/api/api-request.js';
import connectModule from 'undici/lib/core/connect.js';

type RequestFn = (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

if (typeof AgentModule !== 'function' || typeof requestModule !== 'function' || typeof connectModule !== 'function') {
  throw new Error('undici/lib/dispatcher/agent.js, lib/api/api-request.js or lib/core/connect.js is not what lazysnap expects: undici changed its layout');
}

export const Agent = AgentModule as unknown as typeof UndiciAgent;
export const buildConnector = connectModule as unknown as typeof BuildConnector;
const requestOn = requestModule as unknown as RequestFn;

/** `dispatcher.request(opts)`, without undici's index having put request on every dispatcher. */
export function request(dispatcher: Dispatcher, opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
  return requestOn.call(dispatcher, opts);
}
