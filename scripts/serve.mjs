#!/usr/bin/env node
// Static server for the demo and the browser tests, cross-origin isolated (COOP/COEP) so the
// threaded build gets SharedArrayBuffer. Mapping: / → www/, /pkg/ → pkg/, /models/ → models/,
// /catalogue/ → catalogue/, /assets/ → assets/. Paths never leave these folders.
// CLI: node scripts/serve.mjs   (PORT env, default 8080; the next free port if busy; prints the URL)
// Module: const { url, close } = await startServer({ root, port }); port 0 = any free port.
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DEFAULT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// URL prefix → folder under the repo root; the longest matching prefix wins.
const MOUNTS = [
  ['/pkg/', 'pkg'],
  ['/models/', 'models'],
  ['/catalogue/', 'catalogue'],
  ['/assets/', 'assets'],
  ['/', 'www'],
];

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
  '.onnx': 'application/octet-stream',
  '.tflite': 'application/octet-stream',
  '.ts': 'text/plain; charset=utf-8',
};

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The file a request path maps to, or null when it is outside every mount (or malformed). */
export function resolvePath(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  for (const [prefix, dir] of MOUNTS) {
    if (!decoded.startsWith(prefix)) continue;
    const base = path.join(root, dir);
    const file = path.normalize(path.join(base, decoded.slice(prefix.length)));
    // normalize() resolves '..': anything that ends up outside the mount is refused.
    if (file !== base && !file.startsWith(base + path.sep)) return null;
    return file;
  }
  return null;
}

function send(res, status, text, headers = {}) {
  res.writeHead(status, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(text);
}

async function handle(root, req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
  const urlPath = new URL(req.url, 'http://localhost').pathname;
  if (MOUNTS.some(([prefix]) => prefix === urlPath + '/')) return send(res, 301, '', { Location: urlPath + '/' });
  let file = resolvePath(root, urlPath);
  if (!file) return send(res, 404, 'not found\n');
  let info = await stat(file).catch(() => null);
  if (info?.isDirectory()) {
    if (!urlPath.endsWith('/')) return send(res, 301, '', { Location: urlPath + '/' });
    file = path.join(file, 'index.html');
    info = await stat(file).catch(() => null);
  }
  if (!info?.isFile()) return send(res, 404, 'not found\n');
  // no-cache = revalidate every time: a rebuilt wasm is picked up at once, and an unchanged one
  // (same size and mtime) costs a 304 instead of a download — what makes a warm start fast.
  const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const cacheHeaders = { 'Cache-Control': 'no-cache', ETag: etag, 'Last-Modified': info.mtime.toUTCString() };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { ...ISOLATION_HEADERS, ...cacheHeaders });
    return res.end();
  }
  res.writeHead(200, {
    ...ISOLATION_HEADERS,
    'Content-Type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': info.size,
    ...cacheHeaders,
  });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    const onError = (err) => { server.off('listening', onListening); reject(err); };
    const onListening = () => { server.off('error', onError); resolve(); };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}

/**
 * Starts the server on 127.0.0.1. `port` 0 picks any free port; a busy fixed port tries the
 * next ones (up to 20). Resolves to { url, port, server, close() }.
 */
export async function startServer({ root = DEFAULT_ROOT, port = 8080 } = {}) {
  root = path.resolve(root);
  const server = createServer((req, res) => {
    handle(root, req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, `server error: ${err.message}\n`);
      else res.destroy();
    });
  });
  for (let attempt = 0; ; attempt++) {
    const tryPort = port === 0 ? 0 : port + attempt;
    try {
      await listen(server, tryPort);
      break;
    } catch (err) {
      if (err.code !== 'EADDRINUSE' || port === 0 || attempt >= 20) throw err;
    }
  }
  const actual = server.address().port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    server,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = process.env.PORT ? Number(process.env.PORT) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: PORT must be a port number, got '${process.env.PORT}'`);
    process.exit(1);
  }
  const { url } = await startServer({ port });
  console.log(`serve: mobilecnn demo at ${url} (cross-origin isolated; Ctrl+C to stop)`);
}
