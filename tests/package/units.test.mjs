// The package's pure helpers under Node (no browser): the SHA-256 fallback used where crypto.subtle is
// missing (plain-http pages from another host), and the SIMD probe.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { supportsSimd } from '../../js/features.js';
import { sha256Fallback, sha256Hex } from '../../js/sha256.js';

const hex = (b) => Buffer.from(b).toString('hex');

test('the SHA-256 fallback equals node:crypto at every padding boundary', () => {
  for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 1000, 65_537]) {
    const data = randomBytes(n);
    assert.equal(hex(sha256Fallback(data)), createHash('sha256').update(data).digest('hex'), `length ${n}`);
  }
  assert.equal(hex(sha256Fallback(new TextEncoder().encode('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('sha256Hex uses crypto.subtle and agrees with the fallback', async () => {
  const data = randomBytes(3000);
  assert.equal(await sha256Hex(data), hex(sha256Fallback(data)));
  assert.equal(await sha256Hex(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)), hex(sha256Fallback(data)));
});

test('the SIMD probe validates where wasm SIMD exists (Node 20 has it)', () => {
  assert.equal(supportsSimd(), true);
});
