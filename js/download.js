// Downloads with progress, and checksum checks. Runs on the calling thread: fetch streams without
// blocking it, and the bytes are then transferred (not copied) to the worker.

import { MobileCnnError } from './errors.js';
import { sha256Hex } from './sha256.js';

/**
 * The body of `url` as an ArrayBuffer; `onProgress(loaded, total)` while it arrives
 * (`total`: the expected size when known, else 0).
 */
export async function download(url, { onProgress, expectedBytes = 0, what = 'file' } = {}) {
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new MobileCnnError('download', `${what} ${url}: ${e.message}`, { cause: e });
  }
  if (!response.ok) {
    throw new MobileCnnError('download', `${what} ${url}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  // Content-Length counts compressed bytes when the server compresses; trust it only when it does not.
  const length = Number(response.headers.get('content-length')) || 0;
  const total = expectedBytes || (response.headers.get('content-encoding') ? 0 : length);
  if (!onProgress || !response.body) {
    const buffer = await readAll(response, url, what);
    onProgress?.(buffer.byteLength, total || buffer.byteLength);
    return buffer;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  onProgress(0, total);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      onProgress(loaded, Math.max(total, loaded));
    }
  } catch (e) {
    throw new MobileCnnError('download', `${what} ${url}: ${e.message}`, { cause: e });
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return bytes.buffer;
}

async function readAll(response, url, what) {
  try {
    return await response.arrayBuffer();
  } catch (e) {
    throw new MobileCnnError('download', `${what} ${url}: ${e.message}`, { cause: e });
  }
}

/** Rejects with code `checksum` unless `buffer` hashes to `expected` (hex). */
export async function verifySha256(buffer, expected, what) {
  const actual = await sha256Hex(buffer);
  if (actual !== expected.toLowerCase()) {
    throw new MobileCnnError('checksum', `${what}: sha256 is ${actual}, expected ${expected}`);
  }
}
