// The version reported by the CLI and the daemon (kept in step with package.json).
export const VERSION = '0.1.0';
