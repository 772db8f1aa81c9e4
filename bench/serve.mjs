// A minimal static server for the benchmark: bench/ as the web root, cross-origin isolated
// (COOP/COEP, needed for SharedArrayBuffer and so for every runtime's threads).
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.onnx': 'application/octet-stream',
};

/** The reference data (photos' preprocessed bytes, reference probabilities) for bench root `root`:
 *  MOBILECNN_REFERENCE, else ../shared/reference beside the repository, as the tests find it. */
export const referenceDir = (root) => path.resolve(process.env.MOBILECNN_REFERENCE ?? path.resolve(root, '..', '..', 'shared', 'reference'));

/** Serves `root` on 127.0.0.1 (`port` 0: any free port) with the real-model folders beside it
 *  (see `folders`), cacheable for an hour when `cache`; resolves to { url, close() }. */
export function serveBench(root, port = 0, { cache = false } = {}) {
  // For the real-model runs: the repository's model folder (tools/fetch-models.sh), its catalogue
  // (preprocessing), and the reference photos' preprocessed bytes (MOBILECNN_REFERENCE, as the tests).
  const folders = {
    '/models/': path.resolve(root, '..', 'models'),
    '/catalogue/': path.resolve(root, '..', 'catalogue'),
    '/reference/': referenceDir(root),
  };
  const server = createServer(async (req, res) => {
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' };
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const prefix = Object.keys(folders).find((f) => rel.startsWith(f));
    const [base, sub] = prefix ? [folders[prefix], rel.slice(prefix.length - 1)] : [root, rel];
    const file = path.normalize(path.join(base, sub));
    const info = file.startsWith(base + path.sep) ? await stat(file).catch(() => null) : null;
    if (!info?.isFile()) {
      res.writeHead(404, headers);
      return res.end('not found\n');
    }
    res.writeHead(200, { ...headers, 'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream', 'Content-Length': info.size, 'Cache-Control': cache ? 'max-age=3600' : 'no-cache' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) }));
  });
}
