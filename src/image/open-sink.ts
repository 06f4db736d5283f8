// From a destination reference to an ImageSink: `oci:PATH[:TAG]` writes an OCI layout
// (tag default `latest`), anything else pushes to a registry.

import { invalidArgument } from '../errors.js';
import { formatReference, parseReference } from '../reference/reference.js';
import type { RegistryClient } from '../registry/client.js';
import { LayoutSink, RegistrySink, type ImageSink } from './image-sink.js';

export async function openSink(dst: string, client: RegistryClient): Promise<ImageSink> {
  const ref = parseReference(dst);
  if (ref.kind === 'oci') return LayoutSink.open(ref.path, ref.tag ?? 'latest', formatReference(ref));
  if (ref.digest && !ref.tag) throw invalidArgument(`destination ${dst} names a digest: give a tag to push to`);
  return new RegistrySink(client, ref, formatReference(ref));
}
