// The closed error vocabulary of lazysnap (containerd errdefs style). Every error that
// crosses a module boundary is a LazysnapError with one of these codes; tests assert the
// code, never the message. One table maps a code to the errno the FUSE adapter returns
// and to the exit status the CLI uses (1 = the user's fault, 2 = ours).

export const ERROR_CODES = [
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'FAILED_PRECONDITION',
  'INVALID_ARGUMENT',
  'UNAUTHORIZED',
  'UNAVAILABLE',
  'DIGEST_MISMATCH',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

interface CodeInfo {
  /** errno name the FUSE adapter returns for this class */
  errno: 'ENOENT' | 'EEXIST' | 'EPERM' | 'EINVAL' | 'EACCES' | 'EIO';
  /** CLI exit status: 1 for a user error, 2 for an internal one */
  exitCode: 1 | 2;
}

export const CODE_TABLE: Readonly<Record<ErrorCode, CodeInfo>> = {
  NOT_FOUND: { errno: 'ENOENT', exitCode: 1 },
  ALREADY_EXISTS: { errno: 'EEXIST', exitCode: 1 },
  FAILED_PRECONDITION: { errno: 'EPERM', exitCode: 1 },
  INVALID_ARGUMENT: { errno: 'EINVAL', exitCode: 1 },
  UNAUTHORIZED: { errno: 'EACCES', exitCode: 1 },
  // The registry went away or keeps failing: the user can retry, but it is not a bug.
  UNAVAILABLE: { errno: 'EIO', exitCode: 1 },
  // Bytes that do not match their digest are never served: EIO.
  DIGEST_MISMATCH: { errno: 'EIO', exitCode: 1 },
  INTERNAL: { errno: 'EIO', exitCode: 2 },
};

export class LazysnapError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'LazysnapError';
  }
  /** The wire form used on the daemon's control socket. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
  static fromJSON(value: unknown): LazysnapError {
    const v = value as { code?: unknown; message?: unknown } | null;
    const code = typeof v?.code === 'string' && (ERROR_CODES as readonly string[]).includes(v.code)
      ? (v.code as ErrorCode) : 'INTERNAL';
    const message = typeof v?.message === 'string' ? v.message : 'unknown error';
    return new LazysnapError(code, message);
  }
}

export const notFound = (msg: string, cause?: unknown) => new LazysnapError('NOT_FOUND', msg, { cause });
export const alreadyExists = (msg: string, cause?: unknown) => new LazysnapError('ALREADY_EXISTS', msg, { cause });
export const failedPrecondition = (msg: string, cause?: unknown) => new LazysnapError('FAILED_PRECONDITION', msg, { cause });
export const invalidArgument = (msg: string, cause?: unknown) => new LazysnapError('INVALID_ARGUMENT', msg, { cause });
export const unauthorized = (msg: string, cause?: unknown) => new LazysnapError('UNAUTHORIZED', msg, { cause });
export const unavailable = (msg: string, cause?: unknown) => new LazysnapError('UNAVAILABLE', msg, { cause });
export const digestMismatch = (msg: string, cause?: unknown) => new LazysnapError('DIGEST_MISMATCH', msg, { cause });
export const internal = (msg: string, cause?: unknown) => new LazysnapError('INTERNAL', msg, { cause });

/** Walks the cause chain for a LazysnapError (sees through wrapping). */
export function findLazysnapError(err: unknown): LazysnapError | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 16; depth++) {
    if (e instanceof LazysnapError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isCode(err: unknown, code: ErrorCode): boolean {
  return findLazysnapError(err)?.code === code;
}

/** The class of any thrown value: LazysnapError's code, else INTERNAL. */
export function codeOf(err: unknown): ErrorCode {
  return findLazysnapError(err)?.code ?? 'INTERNAL';
}

export function errnoOf(err: unknown): CodeInfo['errno'] {
  return CODE_TABLE[codeOf(err)].errno;
}

export function exitCodeOf(err: unknown): 1 | 2 {
  return CODE_TABLE[codeOf(err)].exitCode;
}
