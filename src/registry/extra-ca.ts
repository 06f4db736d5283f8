// Extra CA certificates for registries (NODE_EXTRA_CA_CERTS), without the start-up cost.
//
// Why: node reads NODE_EXTRA_CA_CERTS when a process starts, and with it builds its whole
// root store: measured here, `node -e 0` takes 90-110 ms with the variable set (it points
// to Debian's ca-certificates bundle on this machine) and 30-50 ms without. A cold mount
// starts three node processes (CLI, daemon, mount server), two of them one after the other.
// So lazysnap hands the variable over to the node processes it starts as
// LAZYSNAP_EXTRA_CA_CERTS, and those load the file only when they open a TLS connection
// (a registry over plain HTTP, such as a loopback one, never costs it).
//
// Trust stays what NODE_EXTRA_CA_CERTS gives: node's bundled roots plus the file's
// certificates. An unreadable file is a warning and is ignored, as node does.
// LAZYSNAP_EXTRA_CA_CERTS may also be set by hand: one or more PEM files, separated by ':'.

import { readFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import type { SecureContext } from 'node:tls';

export const EXTRA_CA_VAR = 'LAZYSNAP_EXTRA_CA_CERTS';
const NODE_VAR = 'NODE_EXTRA_CA_CERTS';

/** The files LAZYSNAP_EXTRA_CA_CERTS names (none when unset or empty). */
export function extraCaFiles(env: NodeJS.ProcessEnv): string[] {
  return (env[EXTRA_CA_VAR] ?? '').split(delimiter).filter((f) => f !== '');
}

/**
 * The environment for a lazysnap node process started from this one: NODE_EXTRA_CA_CERTS
 * moves to the end of LAZYSNAP_EXTRA_CA_CERTS, so that node does not load it at start.
 */
export function lazysnapChildEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { [NODE_VAR]: nodeFile, ...rest } = env;
  if (!nodeFile) return rest;
  const files = extraCaFiles(env);
  return { ...rest, [EXTRA_CA_VAR]: [...files.filter((f) => f !== nodeFile), nodeFile].join(delimiter) };
}

/**
 * The environment for another program (a credential helper, which may itself be a node
 * program): NODE_EXTRA_CA_CERTS as the user set it, from the handed-over list.
 */
export function programEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env[NODE_VAR]) return env;
  const files = extraCaFiles(env);
  // Node takes one file: the user's own variable was the last one handed over.
  return files.length > 0 ? { ...env, [NODE_VAR]: files[files.length - 1] } : env;
}

/**
 * One TLS context trusting node's bundled roots, the file this process's own
 * NODE_EXTRA_CA_CERTS names (node trusts it already; an explicit `ca` would replace that)
 * and `files`. Read now: call it when a TLS connection is about to be made.
 */
export function extraCaContext(files: readonly string[], env: NodeJS.ProcessEnv,
  warn: (message: string) => void = (m) => process.emitWarning(m, { code: 'LAZYSNAP_EXTRA_CA' })): SecureContext {
  // node:tls is loaded here, not at the top: it takes ~7 ms, and the daemon never needs it.
  const { createSecureContext, rootCertificates } = process.getBuiltinModule('node:tls');
  const ca: string[] = [...rootCertificates];
  for (const file of [...(env[NODE_VAR] ? [env[NODE_VAR]] : []), ...files]) {
    try {
      ca.push(readFileSync(file, 'utf8'));
    } catch (err) {
      warn(`ignoring extra CA certificates from ${file} (${EXTRA_CA_VAR}): ${(err as Error).message}`);
    }
  }
  return createSecureContext({ ca });
}
