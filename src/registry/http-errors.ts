// Maps a registry's non-success answer to the closed error vocabulary, keeping the
// distribution-spec `errors[]` messages so the user sees what the registry said.

import { invalidArgument, notFound, unauthorized, unavailable } from '../errors.js';
import { TransientError } from './retry.js';

/** `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"..."}]}` -> "MANIFEST_UNKNOWN: ..." */
export function registryErrorText(body: Buffer): string {
  if (body.length === 0) return '';
  try {
    const doc = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    if (Array.isArray(doc.errors)) {
      return doc.errors
        .map((e) => [e?.code, e?.message].filter((x) => typeof x === 'string' && x !== '').join(': '))
        .filter((s) => s !== '')
        .join('; ');
    }
  } catch {
    // not JSON: fall through to a printable prefix of the body
  }
  return body.toString('utf8', 0, Math.min(body.length, 200)).replace(/[^\x20-\x7e]+/g, ' ').trim();
}

/** True for statuses another attempt may cure (RFC 9110: 408, 429, 5xx except 501/505). */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * The error for a final (non-2xx) status. `what` names the thing asked for
 * ("manifest 127.0.0.1:5000/a/b:t"). Retryable statuses give a TransientError so the
 * retry loop can try again, and becomes UNAVAILABLE when it gives up.
 */
export function statusError(status: number, what: string, body: Buffer, retryAfterMs?: number): Error {
  const said = registryErrorText(body);
  const msg = `${what}: HTTP ${status}${said ? ` (${said})` : ''}`;
  if (isRetryableStatus(status)) return new TransientError(msg, retryAfterMs);
  switch (status) {
    case 404:
      return notFound(`${what}: not found${said ? ` (${said})` : ''}`);
    case 401:
    case 403:
      return unauthorized(`${what}: access denied, HTTP ${status}${said ? ` (${said})` : ''}; check the credentials (lazysnap login)`);
    case 400:
    case 405:
    case 406:
    case 411:
    case 413:
    case 414:
    case 415:
    case 416:
    case 422:
      return invalidArgument(msg);
    default:
      return unavailable(msg);
  }
}
