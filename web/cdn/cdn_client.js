// The browser CDN's page shim (docs/protocols/cdn.md "In browsers"): the
// runtime seam between the cdn_client role, compiled to WebAssembly
// (web/host.js, web/wasm/cdn/cdn_extras.cpp), and the page's world. It holds
// no CDN logic: the role decides what to fetch from whom, verifies, evicts
// and resumes; the shim only carries its frames and events:
//
//   frames to SERVER (1)  -> the live server's WebSocket /signal (byte 0 off;
//                            opened on demand; a close is `signal_lost`)
//   WebSocket text        -> a frame from SERVER: [16] + the JSON text
//   frames to ORIGIN (2)  -> REQUESTs answered with HTTP GETs (Range), back as
//                            DATA frames of 16 KiB (REJECT on 404 / 416)
//   frames to other ids   -> that peer's simple-peer data channel (binary)
//   cdn_link_open/close, cdn_signal_in events and link_up/link_down,
//   signal_out commands  -> simple-peer (external_links)
//   cdn_fetch_done       -> the verified bytes from the role's cache: a Blob
//                            URL for the page and a copy in IndexedDB, which
//                            goes back to the role with cache_put after a reload
//
// Globals: PeerlabCdn (start, SERVER, ORIGIN, benchSha). Needs PeerlabHost
// (host.js), createPeerlabRole (peerlab_role.js) and SimplePeer loaded first.
(function (root) {
  'use strict';

  const SERVER = '1'; // the id the role knows the signalling server by
  const ORIGIN = '2'; // ... and the origin (the live server's browser ids have the top 32 bits set)
  const PORT_CLIENT = 16; // cdn_client: byte 0 of frames to the role
  const CHUNK = 16384; // a DATA payload, as the role serves them
  const DB_NAME = 'peerlab-cdn', DB_STORE = 'resources';
  const encoder = new TextEncoder(), decoder = new TextDecoder();

  function hexOf(b) { return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''); }
  function bytesOfHex(h) {
    const out = new Uint8Array(h.length / 2);
    for (let i = 0; i < out.length; ++i) out[i] = parseInt(h.substr(2 * i, 2), 16);
    return out;
  }

  // --- IndexedDB: {url, sha224, bytes} by url ---
  function openDb() {
    return new Promise((resolve, reject) => {
      const rq = indexedDB.open(DB_NAME, 1);
      rq.onupgradeneeded = () => rq.result.createObjectStore(DB_STORE, { keyPath: 'url' });
      rq.onsuccess = () => resolve(rq.result);
      rq.onerror = () => reject(rq.error);
    });
  }
  function dbAll(db) {
    return new Promise((resolve, reject) => {
      const rq = db.transaction(DB_STORE).objectStore(DB_STORE).getAll();
      rq.onsuccess = () => resolve(rq.result);
      rq.onerror = () => reject(rq.error);
    });
  }
  function dbPut(db, entry) {
    return new Promise((resolve, reject) => {
      const tx = db.transaction(DB_STORE, 'readwrite');
      tx.objectStore(DB_STORE).put(entry);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  }

  // --- frames to and from the origin (layouts: protocols/cdn/codec.hpp) ---
  function parseRequest(f) {
    const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
    if (f.length < 8 || f[1] !== 3) return null; // only REQUESTs go to the origin
    const req = v.getUint32(2, true), n = v.getUint16(6, true);
    if (f.length !== 8 + n + 28 + 12) return null;
    const url = decoder.decode(f.subarray(8, 8 + n));
    const listing = f.subarray(8 + n, 8 + n + 28).every((x) => x === 0);
    const offset = Number(v.getBigUint64(8 + n + 28, true)), length = v.getUint32(8 + n + 36, true);
    return { req, url, listing, offset, length };
  }
  function dataFrame(req, total, offset, payload) {
    const f = new Uint8Array(22 + payload.length), v = new DataView(f.buffer);
    f[0] = PORT_CLIENT; f[1] = 4;
    v.setUint32(2, req, true);
    v.setBigUint64(6, BigInt(total), true);
    v.setBigUint64(14, BigInt(offset), true);
    f.set(payload, 22);
    return f;
  }
  function rejectFrame(req, reason) {
    const f = new Uint8Array(7);
    f[0] = PORT_CLIENT; f[1] = 5;
    new DataView(f.buffer).setUint32(2, req, true);
    f[6] = reason;
    return f;
  }

  /**
   * One page's CDN client. opts: signalUrl (ws://.../signal), page (the
   * listing's URL, /index), lat/lon (joins with them; absent: joins on load
   * and the server locates by address), adversary ('corrupt_content': a
   * lying page, for tests), params (more cdn_client parameters),
   * waitLinkMs (after locate, wait that long for a first peer link before
   * loading, so a test sees peers used; a page without one loads from the origin),
   * onResource(url, blobUrl, event).
   */
  class CdnPage {
    constructor(opts) {
      this.o = Object.assign({ page: '/index', params: {}, waitLinkMs: 0, onResource: () => {} }, opts);
      this.peers = new Map(); // id -> SimplePeer
      this.early = new Map(); // id -> frames waiting for that peer's connect event
      this.ws = null;
      this.wsQueue = [];
      this.db = null;
      this.state = root.__cdn = {
        id: null, events: [], done: {}, failed: {}, loads: [], errors: [], linkErrors: [], linked: [], links: {},
        originHttpBytes: 0, originHttpRequests: 0, peerDataBytesIn: 0, servedBytes: {}, stored: 0, restored: 0,
        timings: {},
      };
    }

    async start() {
      const t0 = performance.now(), st = this.state;
      this.host = await PeerlabHost.load({});
      const spec = Object.assign({ role: 'cdn_client', server: Number(SERVER), origin: Number(ORIGIN),
        external_links: true, join_at_start: false }, this.o.params);
      if (this.o.adversary) spec.adversary = this.o.adversary;
      this.host.create(spec, {}); // seed from crypto.getRandomValues
      this.runner = new PeerlabHost.RoleRunner(this.host, {
        send: (to, data) => this.route(to, data),
        onEvent: (e) => this.onEvent(e),
        onError: (e) => st.errors.push('role: ' + e.message),
      });
      st.timings.instantiateMs = performance.now() - t0;
      this.runner.start();
      // A page going away leaves (the server re-pairs its peers at once, not after its timeout).
      if (typeof addEventListener === 'function') addEventListener('pagehide', () => this.stop());
      await this.restore();
      if (this.o.lat !== undefined && this.o.lon !== undefined)
        this.runner.command('locate', [String(this.o.lat), String(this.o.lon)]); // joins
      if (this.o.waitLinkMs > 0 && this.o.lat !== undefined)
        await this.until(() => st.linked.length > 0, this.o.waitLinkMs);
      st.timings.loadStartMs = performance.now();
      this.runner.command('load', [this.o.page]);
    }

    until(cond, ms) {
      return new Promise((resolve) => {
        const end = performance.now() + ms;
        const poll = () => (cond() || performance.now() > end ? resolve(cond()) : setTimeout(poll, 20));
        poll();
      });
    }

    /** IndexedDB entries go back to the role (cache_put verifies them) before the page loads. */
    async restore() {
      try {
        this.db = await openDb();
        for (const e of await dbAll(this.db)) {
          const fx = this.cachePut(e.url, e.sha224, new Uint8Array(e.bytes));
          if (fx && fx.events.some((x) => x.event === 'cached')) this.state.restored++;
        }
      } catch (e) {
        this.state.errors.push('indexeddb: ' + e.message);
      }
    }

    // --- the role's typed cache_put and cache reads (web/wasm/cdn/cdn_extras.cpp) ---
    cachePut(url, shaHex, bytes) {
      const h = this.host, m = h.m, u = encoder.encode(url), sha = bytesOfHex(shaHex);
      return this.runner.run((now) => {
        const [pu, ps, pb] = h.input(u, sha, bytes);
        return h.result(m._cdn_cache_put(now, pu, u.length, ps, pb, bytes.length));
      });
    }
    cached(url, shaHex) {
      const h = this.host, m = h.m, u = encoder.encode(url);
      const [pu, ps] = h.input(u, bytesOfHex(shaHex));
      const ptr = m._cdn_cache_find(pu, u.length, ps) >>> 0;
      return ptr ? m.HEAPU8.slice(ptr, ptr + (m._cdn_cache_found_len() >>> 0)) : null;
    }

    // --- the role's frames ---
    route(to, data) {
      if (to === SERVER) return this.toServer(decoder.decode(data.subarray(1)));
      if (to === ORIGIN) return this.toOrigin(data);
      const p = this.peers.get(to);
      if (!p) return; // gone: the role hears of it by link_down
      if (!p.connected) {
        // The peer's first frames (its HELLO) can arrive before our side's
        // connect event: the answers wait for it.
        const q = this.early.get(to) || this.early.set(to, []).get(to);
        if (q.length < 64) q.push(data); // a HELLO and its ACK, a few REJECTs: more is not expected
        return;
      }
      if (data[1] === 4) this.state.servedBytes[to] = (this.state.servedBytes[to] || 0) + data.length - 22;
      try { p.send(data); } catch (e) { this.state.linkErrors.push(`send to ${to}: ${e.message}`); }
    }

    toServer(text) {
      if (!this.ws || this.ws.readyState > 1) this.openSocket();
      if (this.ws.readyState === 1) this.ws.send(text);
      else this.wsQueue.push(text);
    }

    openSocket() {
      const ws = this.ws = new WebSocket(this.o.signalUrl);
      this.wsQueue = [];
      ws.onopen = () => { for (const t of this.wsQueue.splice(0)) ws.send(t); };
      ws.onmessage = (m) => {
        if (typeof m.data !== 'string') return;
        const t = encoder.encode(m.data), f = new Uint8Array(t.length + 1);
        f[0] = PORT_CLIENT; f.set(t, 1);
        this.runner.frame(SERVER, f);
      };
      ws.onclose = () => { if (this.ws === ws) { this.ws = null; this.runner.command('signal_lost', []); } };
    }

    async toOrigin(frame) {
      const r = parseRequest(frame), st = this.state;
      if (!r) return st.errors.push('origin: not a REQUEST frame');
      const headers = r.listing ? {} : { Range: `bytes=${r.offset}-${r.offset + r.length - 1}` };
      try {
        const res = await fetch(r.url, { headers, cache: 'no-store' });
        st.originHttpRequests++;
        if (res.status === 404 || res.status === 416)
          return this.runner.frame(ORIGIN, rejectFrame(r.req, res.status === 404 ? 1 : 4));
        if (res.status === 200) { // no Range (the listing): cut the part asked for
          const body = new Uint8Array(await res.arrayBuffer());
          st.originHttpBytes += body.length;
          if (r.offset >= body.length) return this.runner.frame(ORIGIN, rejectFrame(r.req, 4));
          return this.answer(r, body.length, body.subarray(r.offset, r.offset + r.length));
        }
        const m = /\/(\d+)$/.exec(res.headers.get('Content-Range') || '');
        if (res.status !== 206 || !m) return st.errors.push(`origin ${r.url}: HTTP ${res.status}`);
        // DATA as the bytes arrive (the first byte's time is the network's, not the whole window's).
        const reader = res.body.getReader(), total = Number(m[1]);
        let pending = new Uint8Array(0), at = r.offset;
        for (;;) {
          const { done, value } = await reader.read();
          if (value) {
            st.originHttpBytes += value.length;
            const joined = new Uint8Array(pending.length + value.length);
            joined.set(pending); joined.set(value, pending.length);
            const whole = joined.length - (joined.length % CHUNK);
            this.answer({ req: r.req }, total, joined.subarray(0, whole), at);
            at += whole;
            pending = joined.slice(whole);
          }
          if (done) break;
        }
        this.answer({ req: r.req }, total, pending, at);
      } catch (e) {
        st.errors.push(`origin ${r.url}: ${e.message}`); // the role's stall timer asks again
      }
    }

    /** DATA frames of 16 KiB for `part`, which starts at `offset` (default: the request's). */
    answer(r, total, part, offset = r.offset) {
      for (let at = 0; at < part.length; at += CHUNK)
        this.runner.frame(ORIGIN, dataFrame(r.req, total, offset + at, part.subarray(at, at + CHUNK)));
    }

    // --- the role's events ---
    onEvent(e) {
      const st = this.state, f = e.fields || {}, v = e.values || {};
      st.events.push({ t: performance.now(), event: e.event, fields: f, values: v });
      switch (e.event) {
        case 'cdn_joined': st.id = f.id; break;
        case 'cdn_link_open': this.openLink(f.peer, f.initiator === 'true'); break;
        case 'cdn_signal_in': {
          const p = this.peers.get(f.peer);
          if (p) try { this.state.links[f.peer].in++; p.signal(JSON.parse(f.data)); } catch (x) { st.errors.push('signal: ' + x.message); }
          break;
        }
        case 'cdn_link_close': this.closeLink(f.peer); break;
        case 'cdn_linked': st.linked.push(f.peer); break;
        case 'cdn_fetch_done': this.use(f, v); break;
        case 'cdn_fetch_failed': st.failed[f.url] = f.reason; break;
        case 'load_done': case 'load_failed': st.loads.push(Object.assign({ event: e.event }, f, v)); break;
      }
    }

    openLink(peer, initiator) {
      this.closeLink(peer);
      const p = new SimplePeer({ initiator, trickle: true, config: { iceServers: [] } });
      this.peers.set(peer, p);
      const trace = this.state.links[peer] = { initiator, t0: performance.now(), out: 0, in: 0, ice: [] };
      p.on('iceStateChange', (s) => trace.ice.push(s));
      let down = false;
      const gone = () => {
        if (down || this.peers.get(peer) !== p) return;
        down = true;
        this.peers.delete(peer);
        this.early.delete(peer);
        this.runner.command('link_down', [peer]);
      };
      p.on('signal', (d) => { trace.out++; this.runner.command('signal_out', [peer, JSON.stringify(d)]); });
      p.on('connect', () => {
        trace.connectMs = performance.now() - trace.t0;
        for (const f of this.early.get(peer) || []) p.send(f);
        this.early.delete(peer);
        this.runner.command('link_up', [peer]);
      });
      p.on('data', (d) => {
        if (d[1] === 4) this.state.peerDataBytesIn += d.length - 22; // DATA payloads
        this.runner.frame(peer, d);
      });
      p.on('close', gone);
      // Set-up failures are WebRTC's (a stale offer from an earlier pairing of
      // the same two pages, an ICE failure): the role pairs again.
      p.on('error', (x) => { this.state.linkErrors.push(`peer ${peer}: ${x.code || x.message}`); gone(); });
    }

    /** The role dropped the link: no link_down back. */
    closeLink(peer) {
      const p = this.peers.get(peer);
      if (!p) return;
      this.peers.delete(peer);
      this.early.delete(peer);
      p.destroy();
    }

    /** A verified resource: a Blob URL for the page, a copy in IndexedDB. */
    use(f, v) {
      const st = this.state;
      st.done[f.url] = Object.assign({ source: f.source, sha224: f.sha224, at: performance.now() }, v);
      const bytes = this.cached(f.url, f.sha224);
      if (!bytes) return st.errors.push(`${f.url}: verified but not in the role's cache`);
      const blobUrl = URL.createObjectURL(new Blob([bytes]));
      st.done[f.url].blobUrl = blobUrl;
      this.o.onResource(f.url, blobUrl, f);
      if (f.source !== 'cache' && this.db)
        dbPut(this.db, { url: f.url, sha224: f.sha224, bytes: bytes.buffer })
          .then(() => st.stored++, (x) => st.errors.push('indexeddb: ' + x.message));
    }

    /** Leaves the server and every peer (the page is closing). */
    stop() {
      if (this.runner) this.runner.stop();
      for (const p of this.peers.values()) p.destroy();
      if (this.ws) this.ws.close();
    }
  }

  /** wasm SHA-224 vs WebCrypto SHA-256 over `mib` MiB, in MiB/s. */
  async function benchSha(host, mib) {
    const data = new Uint8Array(mib << 20);
    for (let at = 0; at < data.length; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
    host.sha224(data.subarray(0, 1024)); // grow the heap once, outside the timing
    let t = performance.now();
    host.sha224(data);
    const wasmMs = performance.now() - t;
    t = performance.now();
    await crypto.subtle.digest('SHA-256', data);
    const subtleMs = performance.now() - t;
    return { mib, wasmSha224MiBps: mib / (wasmMs / 1000), subtleSha256MiBps: mib / (subtleMs / 1000) };
  }

  function start(opts) {
    const page = root.__cdnPage = new CdnPage(opts);
    page.ready = page.start().catch((e) => { page.state.errors.push('start: ' + e.message); throw e; });
    return page;
  }

  root.PeerlabCdn = { start, benchSha, CdnPage, SERVER, ORIGIN, hexOf };

  // The live server's demo page ("/") carries its site data as JSON: start there by itself.
  const site = typeof document !== 'undefined' && document.getElementById('peerlab-cdn');
  if (site) {
    const d = JSON.parse(site.textContent), log = document.getElementById('log');
    if (d.signal) {
      let started = false;
      const go = (pos) => !started && (started = true) && start({
        signalUrl: (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + d.signal,
        page: d.listing, lat: pos && pos.coords.latitude, lon: pos && pos.coords.longitude,
        onResource: (url, blobUrl, f) => { if (log) log.textContent += `${url}: ${f.source}\n`; },
      });
      // A location makes the server pair us with neighbours; no answer in 5 s (a prompt left open): without.
      if (navigator.geolocation) navigator.geolocation.getCurrentPosition(go, () => go(null), { timeout: 5000 });
      setTimeout(() => go(null), navigator.geolocation ? 5000 : 0);
    }
  }
})(typeof self !== 'undefined' ? self : this);
