// The service worker: the app opens without a network. scripts/build-web.sh
// fills in this build's version and files; a new build is a new worker, which
// the page offers to switch to (it waits until the person says so).
const VERSION = '__VERSION__';
const SHELL = ['/index.html', '/config.json', '/manifest.webmanifest', '/icon.svg', __ASSETS__];

self.addEventListener('install', e => {
  e.waitUntil(caches.open(VERSION).then(c => c.addAll(SHELL)));
});

self.addEventListener('activate', e => {
  e.waitUntil(
    caches.keys()
      .then(keys => Promise.all(keys.filter(k => k !== VERSION).map(k => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener('message', e => {
  if (e.data === 'skip-waiting') self.skipWaiting();
});

// Only this origin's files: the API is elsewhere and is never cached here.
self.addEventListener('fetch', e => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (req.mode === 'navigate') {
    // Every app path is index.html; fresh when online, the cached one when not.
    e.respondWith(fetch(req).catch(() => caches.match('/index.html')));
    return;
  }
  if (url.pathname === '/config.json' || url.pathname === '/sw.js') {
    e.respondWith(fetch(req).then(resp => keep(req, resp)).catch(() => caches.match(req)));
    return;
  }
  // Hashed bundle files never change: the cache first.
  e.respondWith(caches.match(req).then(hit => hit || fetch(req).then(resp => keep(req, resp))));
});

function keep(req, resp) {
  if (resp.ok) {
    const copy = resp.clone();
    caches.open(VERSION).then(c => c.put(req, copy));
  }
  return resp;
}
