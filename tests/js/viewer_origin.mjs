// Preloaded with `node --import ./viewer_origin.mjs ...`: every fetch carries the Origin
// header a browser sends for a page of the deployed viewer (or of $VIEWER_ORIGIN), so
// that a server answers node as it would answer the viewer. Node's fetch sends no Origin.

const origin = process.env.VIEWER_ORIGIN || "https://datamedsci.github.io";
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init = {}) => {
  const headers = new Headers(init.headers ?? {});
  headers.set("Origin", origin);
  return realFetch(input, { ...init, headers });
};
