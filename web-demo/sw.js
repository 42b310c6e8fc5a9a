// The page's own files, kept for a clinic whose connection comes and goes:
// every file of the page (engine/ and generated/ included: nothing is
// listed here) is fetched from the network first and kept; when
// the network fails, the kept copy is served, so the page still opens and
// works on its queued work and last answers. The API (/v1, /healthz,
// /openapi.json) is never cached here: backend.js keeps its own answers.

const CACHE = "enlace-web-demo-v1";
const API = /^\/(v1|healthz|metrics|openapi\.json)(\/|$|\?)/;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin || API.test(url.pathname)) return;
  e.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const res = await fetch(e.request);
        // The page the identity provider sends people back to carries a
        // one-time code: never kept (the page itself is kept without it).
        if (res.ok && !url.searchParams.has("code")) await cache.put(e.request, res.clone());
        return res;
      } catch (err) {
        const kept = (await cache.match(e.request)) ?? (await cache.match(e.request, { ignoreSearch: true }));
        if (kept) return kept;
        throw err;
      }
    })(),
  );
});
