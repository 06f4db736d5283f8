// Test helper: a tar -> a zstd:chunked layer, by the real writer. Builds a one-layer OCI
// image layout by hand (uncompressed layer), then `skopeo copy --dest-compress-format
// zstd:chunked` into a second layout and returns the new layer blob and its annotations.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

function digestOf(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

async function putBlob(layout: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = digestOf(data);
  await writeFile(join(layout, 'blobs/sha256', digest.slice(7)), data);
  return { digest, size: data.length };
}

export interface ZstdChunkedLayer {
  readonly blob: Buffer;
  readonly annotations: Record<string, string>;
  readonly mediaType: string;
}

export async function skopeoZstdChunked(tar: Buffer, dir: string): Promise<ZstdChunkedLayer> {
  const src = join(dir, 'src');
  await mkdir(join(src, 'blobs/sha256'), { recursive: true });
  await writeFile(join(src, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const layer = await putBlob(src, tar);
  const config = await putBlob(src, Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] }, config: {},
  })));
  const manifest = await putBlob(src, Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  })));
  await writeFile(join(src, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 't' } }],
  }));
  const dst = join(dir, 'dst');
  await run('skopeo', ['copy', '-q', '--dest-compress', '--dest-compress-format', 'zstd:chunked', `oci:${src}:t`, `oci:${dst}:t`]);
  const index = JSON.parse(await readFile(join(dst, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const m = JSON.parse(await readFile(join(dst, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as {
    layers: Array<{ digest: string; mediaType: string; annotations?: Record<string, string> }>;
  };
  const l = m.layers[0]!;
  return { blob: await readFile(join(dst, 'blobs/sha256', l.digest.slice(7))), annotations: l.annotations ?? {}, mediaType: l.mediaType };
}
