// Read a zoomingonline store over HTTP the way the ZoomingOnline web viewer does, with
// zarr.js 0.6 (the npm package `zarr`), and print what was read as JSON on stdout.
//
//   node read_store.mjs <store url> '<spec json>'
//
// spec: {
//   "raw":      [{"index": [c, t, s], "start": a, "stop": b}, ...],   raw[c, t, s, a:b]
//   "overview": [{"path": "overview/0", "index": [c, t, s]}, ...]     overview/k[c, t, s, :, :]
// }
//
// Output: {
//   "zarr_version", "attrs" (the group's attributes),
//   "arrays": {path: {shape, chunks, dtype}},
//   "raw": [{index, start, stop, ctor, shape, values, volts}],
//   "overview": [{path, index, ctor, shape, min, max}],
//   "requests": [{method, url, status, cors}]   every HTTP request made, with the
//               Access-Control-Allow-Origin header of its response (null if absent)
// }
// Non-finite numbers are written as the strings "NaN", "Infinity" and "-Infinity" (JSON has
// no such numbers). Errors go to stderr with exit status 1.

import { readFileSync } from "node:fs";
import { HTTPStore, openArray, openGroup, slice } from "zarr";

// Node's fetch does not enforce CORS: record each response's CORS header for the caller.
const requests = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const response = await realFetch(input, init);
  requests.push({
    method: init.method ?? "GET",
    url: String(input),
    status: response.status,
    cors: response.headers.get("access-control-allow-origin"),
  });
  return response;
};

function encode(typed) {
  return Array.from(typed, (v) => (Number.isFinite(v) ? v : String(v)));
}

function zarrVersion() {
  const url = new URL("./node_modules/zarr/package.json", import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")).version;
}

async function main() {
  const [url, specText = "{}"] = process.argv.slice(2);
  if (!url) {
    throw new Error("usage: node read_store.mjs <store url> '<spec json>'");
  }
  const spec = JSON.parse(specText);

  // What the viewer does: the group at the URL, its attributes, then raw and overview/0.
  const store = new HTTPStore(url);
  const group = await openGroup(store, null, "r");
  const attrs = await group.attrs.asObject();
  const gains = attrs.vertical_gains;
  const offsets = attrs.vertical_offsets;

  const paths = new Set(["raw", "overview/0", ...(spec.overview ?? []).map((o) => o.path)]);
  const arrays = {};
  const opened = {};
  for (const path of paths) {
    const arr = await openArray({ store, path, mode: "r" });
    opened[path] = arr;
    arrays[path] = { shape: arr.shape, chunks: arr.chunks, dtype: arr.dtype };
  }

  const raw = [];
  for (const { index, start, stop } of spec.raw ?? []) {
    const [c, t, s] = index;
    const got = await opened.raw.get([c, t, s, slice(start, stop)]);
    const data = got.data;
    // ADC counts to volts, as the viewer plots them.
    const volts = Array.from(data, (v) => v * gains[c][t] - offsets[c][t]);
    raw.push({
      index,
      start,
      stop,
      ctor: data.constructor.name,
      shape: got.shape,
      values: encode(data),
      volts: encode(volts),
    });
  }

  const overview = [];
  for (const { path, index } of spec.overview ?? []) {
    const [c, t, s] = index;
    const got = await opened[path].get([c, t, s, null, null]);
    // A 2-D NestedArray: data[0] (row 0) the minima, data[1] (row 1) the maxima.
    const [mins, maxs] = got.data;
    overview.push({
      path,
      index,
      ctor: mins.constructor.name,
      shape: got.shape,
      min: encode(mins),
      max: encode(maxs),
    });
  }

  const out = { zarr_version: zarrVersion(), attrs, arrays, raw, overview, requests };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  process.stderr.write(`read_store.mjs: ${err?.stack ?? err}\n`);
  process.exit(1);
});
