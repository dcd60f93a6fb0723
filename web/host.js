// The JavaScript side of the WebAssembly role host (web/wasm/role_host.cpp,
// docs/wasm.md), for node (require) and the browser (<script>: PeerlabHost).
//
//   const host = await PeerlabHost.load({ jsPath, wasmPath });  // node
//   const host = await PeerlabHost.load({});  // page that loaded peerlab_role.js
//   host.create({ role: 'traffic', peers: 4 }, { self: '1' });
//   const fx = host.start(0);  // { frames, timers, events, metrics, addresses, commandId }
//
// Peer ids, timer tokens and command ids are 64-bit: they cross as decimal
// strings (a JS number holds 53 bits). Times are microseconds as numbers.
// RoleRunner drives one host in real time: a clock, setTimeout for timers,
// callbacks for frames and events.
(function (root, factory) {
  if (typeof module === 'object' && module.exports) module.exports = factory();
  else root.PeerlabHost = factory();
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  const U64_MAX = (1n << 64n) - 1n;
  const HEADER_BYTES = 32; // effects_buffer.hpp: eight u32
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  /** A 64-bit id (decimal string, bigint or safe integer) as [lo, hi] u32 halves. */
  function u64Halves(x, what) {
    let v;
    if (typeof x === 'bigint') v = x;
    else if (typeof x === 'number' && Number.isSafeInteger(x)) v = BigInt(x);
    else if (typeof x === 'string' && /^[0-9]{1,20}$/.test(x)) v = BigInt(x);
    else throw new Error(`${what} must be a decimal string, a bigint or a safe integer (got ${String(x).slice(0, 40)})`);
    if (v < 0n || v > U64_MAX) throw new Error(`${what} ${v} is outside 0..2^64-1`);
    return [Number(v & 0xffffffffn), Number(v >> 32n)];
  }

  function u64Text(view, at) {
    const lo = view.getUint32(at, true), hi = view.getUint32(at + 4, true);
    return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
  }

  function checkTime(nowUs) {
    if (!Number.isSafeInteger(nowUs) || nowUs < 0) throw new Error(`now_us must be a whole number of microseconds >= 0 (got ${nowUs})`);
    return nowUs;
  }

  /** 64 random bits from the platform's CSPRNG, as a decimal string. */
  function randomSeed() {
    let c = typeof globalThis !== 'undefined' ? globalThis.crypto : undefined;
    if (!c || !c.getRandomValues) c = require('crypto').webcrypto; // node 18
    const w = new Uint32Array(2);
    c.getRandomValues(w);
    return ((BigInt(w[1]) << 32n) | BigInt(w[0])).toString();
  }

  function bytesOf(data) {
    if (data instanceof Uint8Array) return data;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (typeof data === 'string') return encoder.encode(data);
    throw new Error('expected bytes (Uint8Array, ArrayBuffer, a typed array) or a string');
  }

  function hexOf(b) {
    let s = '';
    for (const x of b) s += x.toString(16).padStart(2, '0');
    return s;
  }

  class RoleHost {
    constructor(mod) {
      this.m = mod;
      this.info = null;
    }

    /**
     * Copies byte arrays into the host's input buffer; returns their
     * addresses (for calls of a protocol's own exports, like web/cdn/).
     */
    input(...parts) { return this._input(...parts); }
    /** Decodes the last call's result ({frames, timers, events, ...}); throws on status 1. */
    result(status) { return this._result(status); }

    /** Copies byte arrays into the host's input buffer; returns their addresses. */
    _input(...parts) {
      let total = 0;
      for (const p of parts) total += p.length;
      const base = this.m._host_buffer(Math.max(total, 1)) >>> 0;
      const heap = this.m.HEAPU8; // read after the call: it may have grown memory
      const at = [];
      let off = base;
      for (const p of parts) {
        heap.set(p, off);
        at.push(off);
        off += p.length;
      }
      return at;
    }

    /** Decodes the result of the last call (effects_buffer.hpp); throws on status 1. */
    _result(status) {
      const ptr = this.m._host_out_ptr() >>> 0, len = this.m._host_out_len() >>> 0;
      const heap = this.m.HEAPU8;
      const view = new DataView(heap.buffer, ptr, len);
      if (len < HEADER_BYTES || view.getUint32(0, true) !== 1) throw new Error('role host: unknown result layout');
      const nFrames = view.getUint32(16, true), nTimers = view.getUint32(20, true);
      const jsonBytes = view.getUint32(24, true), errorBytes = view.getUint32(28, true);
      let at = HEADER_BYTES;
      if (view.getUint32(4, true) !== 0 || status !== 0) {
        const text = decoder.decode(heap.subarray(ptr + at + jsonBytes, ptr + at + jsonBytes + errorBytes));
        throw new Error(text || 'role host call failed');
      }
      const out = { commandId: u64Text(view, 8), frames: [], timers: [], events: [], metrics: [], addresses: [] };
      for (let i = 0; i < nFrames; ++i) {
        const to = u64Text(view, at), n = view.getUint32(at + 8, true);
        at += 12;
        out.frames.push({ to, data: heap.slice(ptr + at, ptr + at + n) }); // a copy: the heap is reused
        at += n;
      }
      for (let i = 0; i < nTimers; ++i) {
        const delay = BigInt.asIntN(64, BigInt(u64Text(view, at)));
        out.timers.push({ delayUs: Number(delay), token: u64Text(view, at + 8) });
        at += 16;
      }
      if (jsonBytes > 0) Object.assign(out, JSON.parse(decoder.decode(heap.subarray(ptr + at, ptr + at + jsonBytes))));
      return out;
    }

    /**
     * Builds the role: spec is {role: name, ...parameters} (adversary: a
     * misbehaviour the role implements) or a role name. opts.self is this
     * node's peer id; opts.seed its generator's seed (random if absent).
     */
    create(spec, opts = {}) {
      const text = encoder.encode(JSON.stringify(spec));
      const seed = u64Halves(opts.seed === undefined ? randomSeed() : opts.seed, 'seed');
      const self = u64Halves(opts.self === undefined ? 0 : opts.self, 'self');
      const [p] = this._input(text);
      const r = this._result(this.m._host_create(p, text.length, seed[0], seed[1], self[0], self[1]));
      this.info = { role: r.role, port: r.port };
      if (opts.metrics) this.m._host_set_metrics(1);
      return this.info;
    }

    setMetrics(on) { this.m._host_set_metrics(on ? 1 : 0); }

    start(nowUs) { return this._result(this.m._host_start(checkTime(nowUs))); }

    stop(nowUs) { return this._result(this.m._host_stop(checkTime(nowUs))); }

    frame(nowUs, from, data) {
      const [lo, hi] = u64Halves(from, 'from');
      const b = bytesOf(data);
      const [p] = this._input(b);
      return this._result(this.m._host_frame(checkTime(nowUs), lo, hi, p, b.length));
    }

    timer(nowUs, token) {
      const [lo, hi] = u64Halves(token, 'token');
      return this._result(this.m._host_timer(checkTime(nowUs), lo, hi));
    }

    peerUp(nowUs, peer, address) {
      const [lo, hi] = u64Halves(peer, 'peer');
      const a = encoder.encode(address);
      const [p] = this._input(a);
      return this._result(this.m._host_peer_up(checkTime(nowUs), lo, hi, p, a.length));
    }

    /** A text command (verb, array of string arguments); the result's commandId names it. */
    command(nowUs, verb, args = []) {
      if (!Array.isArray(args)) throw new Error('command arguments must be an array');
      const v = encoder.encode(verb), a = encoder.encode(JSON.stringify(args));
      const [pv, pa] = this._input(v, a);
      return this._result(this.m._host_command(checkTime(nowUs), pv, v.length, pa, a.length));
    }

    /** Serves bytes under their SHA-256: {hash (hex), name, size}. */
    contentAdd(name, data) {
      const n = encoder.encode(name), b = bytesOf(data);
      const [pn, pb] = this._input(n, b);
      return this._result(this.m._host_content_add(pn, n.length, pb, b.length)).file;
    }

    /** A served file's bytes (a copy) by its SHA-256 in hex, or null. */
    content(hashHex) {
      if (!/^[0-9a-f]{64}$/.test(hashHex)) throw new Error('hash must be 64 lowercase hex digits');
      const h = new Uint8Array(32);
      for (let i = 0; i < 32; ++i) h[i] = parseInt(hashHex.substr(2 * i, 2), 16);
      const [p] = this._input(h);
      const ptr = this.m._host_content_ptr(p) >>> 0;
      if (ptr === 0) return null;
      const len = this.m._host_content_len(p) >>> 0;
      return this.m.HEAPU8.slice(ptr, ptr + len);
    }

    _digest(fn, n, data) {
      const b = bytesOf(data);
      const [p] = this._input(b);
      const out = fn(p, b.length) >>> 0;
      return this.m.HEAPU8.slice(out, out + n);
    }
    /** SHA-224 with the wasm build's portable code (WebCrypto has none). */
    sha224(data) { return this._digest(this.m._host_sha224, 28, data); }
    sha256(data) { return this._digest(this.m._host_sha256, 32, data); }
  }

  /**
   * Loads one module instance (one role): node: {jsPath, wasmPath}; browser:
   * {factory} or the global createPeerlabRole of a loaded peerlab_role.js.
   */
  async function load(opts = {}) {
    let factory = opts.factory;
    const args = {};
    if (opts.wasmBinary) args.wasmBinary = opts.wasmBinary;
    if (!factory && opts.jsPath) {
      factory = require(require('path').resolve(opts.jsPath));
      // node: the loader would fetch() a file path; hand it the bytes instead.
      if (!args.wasmBinary) args.wasmBinary = require('fs').readFileSync(opts.wasmPath || opts.jsPath.replace(/\.js$/, '.wasm'));
    }
    if (!factory && typeof createPeerlabRole === 'function') factory = createPeerlabRole; // eslint-disable-line no-undef
    if (!factory) throw new Error('no module factory: pass {jsPath} (node) or load peerlab_role.js first (browser)');
    if (opts.locateFile) args.locateFile = opts.locateFile;
    return new RoleHost(await factory(args));
  }

  /**
   * Runs a host in real time: now() in microseconds since the runner began,
   * timers on setTimeout, frames to send(to, data), events to onEvent(e).
   * Errors thrown by the role stop the runner and go to onError.
   */
  class RoleRunner {
    constructor(host, { send, onEvent = () => {}, onError = (e) => { throw e; }, clock } = {}) {
      if (typeof send !== 'function') throw new Error('RoleRunner needs send(to, data)');
      this.host = host;
      this.send = send;
      this.onEvent = onEvent;
      this.onError = onError;
      const perf = typeof performance !== 'undefined' ? performance : require('perf_hooks').performance;
      const t0 = perf.now();
      this.now = clock || (() => Math.floor((perf.now() - t0) * 1000));
      this.pending = new Set(); // setTimeout handles
      this.stopped = false;
    }

    _apply(fx) {
      for (const t of fx.timers) {
        const h = setTimeout(() => {
          this.pending.delete(h);
          this._call((now) => this.host.timer(now, t.token));
        }, Math.max(0, t.delayUs) / 1000);
        this.pending.add(h);
      }
      for (const f of fx.frames) this.send(f.to, f.data);
      for (const e of fx.events) this.onEvent(e);
      return fx;
    }

    _call(fn) {
      if (this.stopped) return null;
      try {
        return this._apply(fn(this.now()));
      } catch (e) {
        this.halt();
        this.onError(e);
        return null;
      }
    }

    /**
     * Runs fn(nowUs), a call into the host that returns its effects (e.g. a
     * protocol's own export, web/wasm/<protocol>/), and applies them.
     */
    run(fn) { return this._call(fn); }
    start() { return this._call((now) => this.host.start(now)); }
    frame(from, data) { return this._call((now) => this.host.frame(now, from, data)); }
    command(verb, args) { return this._call((now) => this.host.command(now, verb, args)); }
    peerUp(peer, address) { return this._call((now) => this.host.peerUp(now, peer, address)); }
    /** Graceful leave: the role's goodbyes go out, then no timer fires again. */
    stop() {
      const fx = this._call((now) => this.host.stop(now));
      this.halt();
      return fx;
    }
    /** Cancels every pending timer without telling the role (a crash). */
    halt() {
      this.stopped = true;
      for (const h of this.pending) clearTimeout(h);
      this.pending.clear();
    }
  }

  return { load, RoleHost, RoleRunner, randomSeed, hexOf };
});
