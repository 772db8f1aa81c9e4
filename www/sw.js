// Service worker: a second visit starts offline.
//  - Model files (/models/): cache first. The package checks every download against the catalogue's
//    sha256, and a catalogue entry's file never changes under the same name.
//  - Everything else of this origin (app shell, /pkg/ JS and wasm, the catalogue, labels): network first,
//    so a deploy is picked up at once and the JS glue always matches its wasm; the cache answers offline
//    or when the network stalls. Cached responses keep their COOP/COEP headers, so an offline page is
//    still cross-origin isolated and runs the threaded build.

const CACHE = 'mobilecnn-v1';
const SHELL = [
  '/',
  '/css/app.css',
  '/js/main.js', '/js/dom.js', '/js/format.js', '/js/messages.js', '/js/camera.js', '/js/still.js',
  '/js/runner.js', '/js/results-view.js', '/js/profile-view.js', '/js/picker-view.js', '/js/catalogue.js',
  '/manifest.webmanifest', '/icons/icon.svg', '/icons/icon-maskable.svg',
  '/catalogue/models.json',
];
const NETWORK_TIMEOUT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // One missing file must not stop the worker from installing: cache what answers.
    await Promise.all(SHELL.map((url) => cache.add(url).catch(() => {})));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim(); // control this first visit too, so its wasm and model get cached
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || request.headers.has('range')) return;
  if (url.pathname.startsWith('/models/')) event.respondWith(cacheFirst(request));
  else event.respondWith(networkFirst(request));
});

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request, { ignoreSearch: true });
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && response.status === 200) cache.put(request, response.clone()).catch(() => {});
  return response;
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  const network = fetch(request).then((response) => {
    if (response.ok && response.status === 200) cache.put(request, response.clone()).catch(() => {});
    return response;
  });
  const timeout = new Promise((resolve) => setTimeout(resolve, NETWORK_TIMEOUT_MS, null));
  try {
    const first = await Promise.race([network, timeout]);
    if (first) return first;
    // The network stalls: answer from the cache if we can, else keep waiting for it.
    return (await cache.match(request, { ignoreSearch: request.mode === 'navigate' })) ?? (await network);
  } catch (error) {
    const hit = await cache.match(request, { ignoreSearch: request.mode === 'navigate' });
    if (hit) return hit;
    throw error;
  }
}
