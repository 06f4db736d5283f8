// Parsing `WWW-Authenticate` (RFC 9110 11.6.1): one or more challenges, each a scheme
// followed by auth-params (`key=token` or `key="quoted string"`). Hand-written because
// neither node nor undici exports a parser for it; it is small and strictly bounded.

export interface Challenge {
  /** Lower-cased scheme: `bearer`, `basic`, ... */
  scheme: string;
  /** Lower-cased parameter names: realm, service, scope, error, ... */
  params: Record<string, string>;
}

const MAX_HEADER = 8192;

export function parseWwwAuthenticate(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const all = Array.isArray(header) ? header : [header];
  return all.flatMap((h) => parseOne(h.slice(0, MAX_HEADER)));
}

function parseOne(s: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const skipSpace = () => { while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++; };
  const token = () => {
    const m = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(s.slice(i));
    if (!m) return '';
    i += m[0].length;
    return m[0];
  };
  let current: Challenge | undefined;
  while (i < s.length) {
    skipSpace();
    if (s[i] === ',') { i++; continue; }
    const start = i;
    const name = token();
    if (!name) { i++; continue; }
    skipSpace();
    if (s[i] === '=' && current) {
      i++;
      skipSpace();
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        value = token();
      }
      current.params[name.toLowerCase()] = value;
    } else {
      // A token not followed by '=' starts a new challenge (token68 forms are skipped).
      i = start + name.length;
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}
