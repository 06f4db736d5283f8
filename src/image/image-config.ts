// Reading an image config once it is fetched and verified: the same checks for every
// source (registry or layout), and the platform the image really is.

import { invalidArgument } from '../errors.js';
import type { ImageConfig, Platform } from './oci-types.js';

/** Parses a config blob; INVALID_ARGUMENT (naming image and digest) when it is not one. */
export function parseImageConfig(bytes: Buffer, name: string, digest: string): ImageConfig {
  try {
    const config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
    if (config === null || typeof config !== 'object' || !Array.isArray(config.rootfs?.diff_ids)) throw new Error('no rootfs.diff_ids');
    return config;
  } catch (err) {
    throw invalidArgument(`${name}: config ${digest} is not an image config: ${(err as Error).message}`, err);
  }
}

/** The platform an image declares in its config, defaulting to the one asked for. */
export function configPlatform(config: ImageConfig, asked: Platform): Platform {
  const actual: Platform = { os: config.os ?? asked.os, architecture: config.architecture ?? asked.architecture };
  if (config.variant) actual.variant = config.variant;
  return actual;
}
