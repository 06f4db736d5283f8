// One entry point from a reference string to an ImageSource: a registry, or an OCI image
// layout on disk (`oci:PATH[:TAG]`).

import { parseReference, type ImageReference } from '../reference/reference.js';
import type { RegistryClient } from '../registry/client.js';
import type { ImageSource } from './image-source.js';
import { openOciLayoutSource } from './oci-layout-source.js';
import { openRegistrySource } from './registry-source.js';

export interface SourceOptions {
  /** Shared registry client (connections, tokens, credentials). */
  client: RegistryClient;
}

export function openSource(ref: string | ImageReference, opts: SourceOptions): ImageSource {
  const parsed = typeof ref === 'string' ? parseReference(ref) : ref;
  if (parsed.kind === 'oci') return openOciLayoutSource(parsed.path, parsed.tag);
  return openRegistrySource(parsed, { client: opts.client });
}
