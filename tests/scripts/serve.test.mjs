// scripts/serve.mjs: mounts, MIME types, cross-origin isolation headers, no path escapes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { startServer } from '../../scripts/serve.mjs';

let root, server;

// Raw request: the path goes out exactly as written (fetch() would normalise '..').
function get(rawPath, method = 'GET', headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: rawPath, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'serve-test-'));
  const files = {
    'www/index.html': '<!doctype html>demo',
    'www/app.js': 'export {}',
    'www/manifest.webmanifest': '{}',
    'pkg/mobilecnn_bg.wasm': '\0asm',
    'pkg/index.mjs': 'export {}',
    'models/m.onnx': 'onnx',
    'catalogue/models.json': '{"models":[]}',
    'assets/labels.txt': 'cat',
    'secret.txt': 'do not serve',
  };
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  }
  server = await startServer({ root, port: 0 });
});

after(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

test('serves each mount with its MIME type and the isolation headers', async () => {
  const cases = [
    ['/', 'text/html', '<!doctype html>demo'],
    ['/app.js', 'text/javascript', 'export {}'],
    ['/manifest.webmanifest', 'application/manifest+json', '{}'],
    ['/pkg/mobilecnn_bg.wasm', 'application/wasm', '\0asm'],
    ['/pkg/index.mjs', 'text/javascript', 'export {}'],
    ['/models/m.onnx', 'application/octet-stream', 'onnx'],
    ['/catalogue/models.json', 'application/json', '{"models":[]}'],
    ['/assets/labels.txt', 'text/plain', 'cat'],
  ];
  for (const [p, type, body] of cases) {
    const res = await get(p);
    assert.equal(res.status, 200, p);
    assert.ok(res.headers['content-type'].startsWith(type), `${p}: ${res.headers['content-type']}`);
    assert.equal(res.body, body, p);
    assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin', p);
    assert.equal(res.headers['cross-origin-embedder-policy'], 'require-corp', p);
    assert.equal(res.headers['cross-origin-resource-policy'], 'same-origin', p);
  }
});

test('never serves a file outside the mounts', async () => {
  for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/pkg/../../secret.txt', '/pkg/..%2f..%2fsecret.txt',
    '/assets/%2e%2e%2f%2e%2e%2fsecret.txt', '/models/..%5c..%5csecret.txt', '/%00', '/%E0%A4%A', '/secret.txt']) {
    const res = await get(p);
    assert.equal(res.status, 404, `${p} gave ${res.status}`);
    assert.ok(!res.body.includes('do not serve'), p);
  }
});

test('HEAD, redirects for bare mounts, refused methods', async () => {
  const head = await get('/pkg/mobilecnn_bg.wasm', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '4');
  assert.equal(head.body, '');
  const bare = await get('/pkg');
  assert.equal(bare.status, 301);
  assert.equal(bare.headers.location, '/pkg/');
  assert.equal((await get('/', 'POST')).status, 405);
});

test('a busy fixed port moves on to the next one', async () => {
  const second = await startServer({ root, port: server.port });
  try {
    assert.notEqual(second.port, server.port);
    assert.equal((await fetch(second.url)).status, 200);
  } finally {
    await second.close();
  }
});

test('an unchanged file revalidates with 304 (warm starts reuse the HTTP cache), a changed one is sent again', async () => {
  const first = await get('/pkg/mobilecnn_bg.wasm');
  assert.equal(first.status, 200);
  assert.ok(first.headers.etag, 'ETag header');
  assert.ok(first.headers['last-modified'], 'Last-Modified header');
  const again = await get('/pkg/mobilecnn_bg.wasm', 'GET', { 'If-None-Match': first.headers.etag });
  assert.equal(again.status, 304);
  assert.equal(again.body, '');
  assert.equal(again.headers['cross-origin-embedder-policy'], 'require-corp');
  await writeFile(path.join(root, 'pkg/mobilecnn_bg.wasm'), '\0asm-rebuilt');
  const changed = await get('/pkg/mobilecnn_bg.wasm', 'GET', { 'If-None-Match': first.headers.etag });
  assert.equal(changed.status, 200);
  assert.equal(changed.body, '\0asm-rebuilt');
});
