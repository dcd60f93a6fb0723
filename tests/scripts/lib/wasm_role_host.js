// Drives the WebAssembly role host (web/host.js over peerlab_role.{js,wasm})
// in node: portable SHA-2 against node's crypto, the traffic role frame by
// frame, two gossip roles talking in real time (timers on setTimeout), the
// host's refusals, and SHA-224 speed over 64 MiB beside node's crypto.
// Usage: node wasm_role_host.js ROOT WASM_DIR   (tests/scripts/wasm_role_host.sh)
'use strict';
const path = require('path');
const crypto = require('crypto');
const assert = require('assert');

const [root, wasmDir] = process.argv.slice(2);
const PeerlabHost = require(path.join(root, 'web', 'host.js'));
const jsPath = path.join(wasmDir, 'peerlab_role.js');
const watchdog = setTimeout(() => { console.log('FAIL: watchdog (60 s)'); process.exit(1); }, 60000);

let passed = 0, failed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
  } catch (e) {
    failed++;
    console.log(`FAIL: ${name}: ${e.message}`);
  }
}
const nodeHash = (alg, b) => crypto.createHash(alg).update(b).digest('hex');
const hex = PeerlabHost.hexOf;

function seeded(seed, n) { // deterministic bytes (xorshift32)
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; ++i) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 255;
  }
  return b;
}

function hops(frame) { // traffic: [port 250][type 1][hops u32 LE][length u32 LE]...
  assert.strictEqual(frame[0], 250, 'port byte');
  assert.strictEqual(frame[1], 1, 'type byte');
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(2, true);
}

async function shaChecks() {
  const h = await PeerlabHost.load({ jsPath });
  const inputs = [
    new Uint8Array(0), 'abc',
    'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
    'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
    'a'.repeat(1000000), seeded(3, 1 << 20),
  ];
  for (let n = 0; n <= 200; ++n) inputs.push(seeded(n + 10, n));
  check('sha224("abc") is the FIPS vector', () =>
    assert.strictEqual(hex(h.sha224('abc')), '23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7'));
  check('wasm sha224 and sha256 equal node crypto on ' + inputs.length + ' inputs', () => {
    for (const x of inputs) {
      const b = typeof x === 'string' ? Buffer.from(x) : x;
      assert.strictEqual(hex(h.sha224(b)), nodeHash('sha224', b), `sha224 of ${b.length} bytes`);
      assert.strictEqual(hex(h.sha256(b)), nodeHash('sha256', b), `sha256 of ${b.length} bytes`);
    }
  });
  return h;
}

async function trafficChecks() {
  const spec = { role: 'traffic', peers: 4, in_flight: 3, size: 64, ttl: 5 };
  const a = await PeerlabHost.load({ jsPath });
  check('create names the role and its port', () =>
    assert.deepStrictEqual(a.create(spec, { self: '1', seed: '42', metrics: true }), { role: 'traffic', port: 250 }));
  const fx = a.start(0);
  check('start sends in_flight frames of 0 hops, never to itself', () => {
    assert.strictEqual(fx.frames.length, 3);
    for (const f of fx.frames) {
      assert.ok(['0', '2', '3'].includes(f.to), `to ${f.to}`);
      assert.strictEqual(f.data.length, 64);
      assert.strictEqual(hops(f.data), 0);
    }
    assert.deepStrictEqual(fx.timers, []);
  });
  check('each frame fed back comes out one hop further until the ttl', () => {
    let frame = fx.frames[0].data, now = 10;
    for (let expect = 1; expect < 5; ++expect) {
      const out = a.frame(now += 10, '3', frame);
      assert.strictEqual(out.frames.length, 1, `hop ${expect}`);
      assert.strictEqual(hops(out.frames[0].data), expect);
      assert.ok(out.metrics.some((m) => m.name === 'traffic.received' && m.value === 1 && m.counter));
      frame = out.frames[0].data;
    }
    assert.strictEqual(a.frame(now + 10, '2', frame).frames.length, 0, 'hop 5 reaches the ttl');
  });
  check('a truncated frame is rejected and counted', () => {
    const out = a.frame(100, '2', fx.frames[1].data.subarray(0, 20));
    assert.strictEqual(out.frames.length, 0);
    assert.ok(out.metrics.some((m) => m.name === 'frames_rejected'));
  });
  check('64-bit peer ids cross intact', () => {
    const out = a.frame(200, '18446744073709551615', fx.frames[2].data);
    assert.strictEqual(out.frames.length, 1);
    const big = a.frame(201, 2n ** 64n - 1n, fx.frames[2].data);
    assert.strictEqual(big.frames.length, 1);
  });
  check('a text command is parsed by the role and refused with its reason', () => {
    const out = a.command(300, 'send', ['1', 2]);
    assert.strictEqual(out.commandId, '1');
    assert.strictEqual(out.events.length, 1);
    const e = out.events[0];
    assert.strictEqual(e.event, 'command_failed');
    assert.strictEqual(e.command_id, '1');
    assert.strictEqual(e.values.code, 400);
    assert.match(e.fields.reason, /traffic takes no commands/);
    assert.strictEqual(a.command(301, 'x').commandId, '2');
  });
  const dest = async (seed) => {
    const h = await PeerlabHost.load({ jsPath });
    h.create({ role: 'traffic', peers: 1000, in_flight: 20 }, { self: '5', seed });
    return h.start(0).frames.map((f) => f.to).join(',');
  };
  const [d1, d2, d3] = [await dest('7'), await dest('7'), await dest('8')];
  check('the same seed gives the same destinations, another seed others', () => {
    assert.strictEqual(d1, d2);
    assert.notStrictEqual(d1, d3);
  });
  const b = await PeerlabHost.load({ jsPath }); // another instance: its failed creates leave a alone
  check('the host refuses bad input with a clear error', () => {
    assert.throws(() => a.frame(50, '2', fx.frames[0].data), /time went backwards: 50 us after 301 us/);
    assert.throws(() => a.frame(400, '-1', fx.frames[0].data), /from must be a decimal string/);
    assert.throws(() => a.command(400, 'x', [true]), /strings or numbers, not true/);
    assert.throws(() => a.command(400, 'x', [{}]), /flat JSON array/);
    assert.throws(() => a.command(400, 'x', [[1]]), /flat JSON array/);
    assert.throws(() => b.create({ role: 'nope' }), /no role "nope" in this build \(it hosts: traffic/);
    assert.throws(() => b.start(0), /call host_create first/);
    assert.throws(() => b.create({ role: 'traffic' }), /peers/);
    assert.throws(() => b.create({ role: 'traffic', peers: 4, colour: 1 }), /colour/);
    assert.throws(() => b.create({ role: 'traffic', peers: 4, adversary: 'liar' }), /no adversary "liar"/);
    let deep = [];
    for (let i = 0; i < 100; ++i) deep = [deep];
    assert.throws(() => b.create({ role: 'traffic', peers: deep }), /nests deeper than 64/);
    assert.throws(() => b.create('traffic'), /needs "peers"/); // a bare name: no parameters
    assert.deepStrictEqual(b.create({ role: 'traffic', peers: 2 }), { role: 'traffic', port: 250 });
    assert.throws(() => b.frame(0, '1', new Uint8Array((4 << 20) + 1)), /more than the limit/);
  });
  check('content added is served by its SHA-256 and read back', () => {
    const data = seeded(99, 100000);
    const f = a.contentAdd('x.bin', data);
    assert.strictEqual(f.hash, nodeHash('sha256', data));
    assert.strictEqual(f.size, 100000);
    assert.deepStrictEqual(a.content(f.hash), data);
    assert.strictEqual(a.content('0'.repeat(64)), null);
  });
}

// Two gossip roles in two module instances, linked by a queue with 2 ms of
// latency: timers (heartbeats) run on setTimeout, a publication arrives.
async function gossipChecks() {
  const spec = { role: 'gossip', topics: ['t'], heartbeat: '100ms' };
  const nodes = {}, delivered = [], errors = [];
  for (const id of ['1', '2']) {
    const host = await PeerlabHost.load({ jsPath });
    host.create(spec, { self: id }); // seeded from crypto.getRandomValues
    nodes[id] = new PeerlabHost.RoleRunner(host, {
      send: (to, data) => setTimeout(() => nodes[to] && nodes[to].frame(id, data), 2),
      onEvent: (e) => { if (e.event === 'gossip_delivered') delivered.push({ at: id, e }); },
      onError: (e) => errors.push(e.message),
    });
  }
  const timers = nodes['1'].start().timers.length + nodes['2'].start().timers.length;
  check('gossip sets its heartbeat timers at start', () => assert.ok(timers >= 2, `${timers} timers`));
  const c1 = nodes['1'].command('connect', ['2']), c2 = nodes['2'].command('connect', ['1']);
  check('connect answers command_done', () => {
    assert.strictEqual(c1.events[0].event, 'command_done');
    assert.strictEqual(c2.events[0].event, 'command_done');
  });
  await new Promise((r) => setTimeout(r, 500)); // a few heartbeats: the mesh forms
  const t0 = Date.now();
  const pub = nodes['1'].command('publish', ['t', '68656c6c6f']);
  check('publish answers gossip_published', () => assert.ok(pub.events.some((e) => e.event === 'gossip_published' && e.command_id === pub.commandId)));
  while (!delivered.some((d) => d.at === '2') && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
  nodes['1'].stop();
  nodes['2'].halt();
  check('the message reaches the other wasm node over JS timers and frames', () => {
    assert.deepStrictEqual(errors, []);
    const d = delivered.find((x) => x.at === '2');
    assert.ok(d, 'no gossip_delivered at node 2 within 5 s');
    assert.strictEqual(d.e.fields.topic, 't');
    assert.strictEqual(d.e.fields.from, '1');
    assert.strictEqual(d.e.values.size, 5);
  });
}

// Frames through JS -> wasm -> JS: the traffic role forwards each one.
async function frameRate() {
  const h = await PeerlabHost.load({ jsPath });
  h.create({ role: 'traffic', peers: 2, size: 64 }, { self: '0', seed: '1' });
  let f = h.start(0).frames[0].data;
  const n = 100000, t = process.hrtime.bigint();
  for (let i = 1; i <= n; ++i) f = h.frame(i, '1', f).frames[0].data;
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  check('100000 frames forwarded, hop count intact', () => assert.strictEqual(hops(f), n));
  console.log(`traffic frames through the wasm host: ${(n / s / 1000).toFixed(0)} k/s`);
}

// SHA-224 over 64 MiB: the first wasm call grows the heap to hold the input;
// the figure is the best of three after it (each copies the input into the heap).
function speed(h) {
  const n = 64 << 20, data = seeded(5, n);
  const time = (fn) => { const t = process.hrtime.bigint(); const r = fn(); return [r, Number(process.hrtime.bigint() - t) / 1e9]; };
  const [w, first] = time(() => h.sha224(data));
  const [nd] = time(() => crypto.createHash('sha224').update(data).digest('hex'));
  check('64 MiB: wasm sha224 equals node crypto', () => assert.strictEqual(hex(w), nd));
  let tw = Infinity, tn = Infinity;
  for (let i = 0; i < 3; ++i) {
    tw = Math.min(tw, time(() => h.sha224(data))[1]);
    tn = Math.min(tn, time(() => crypto.createHash('sha224').update(data).digest())[1]);
  }
  const mib = (t) => (64 / t).toFixed(0);
  console.log(`sha224 over 64 MiB: wasm portable ${mib(tw)} MiB/s (first call ${mib(first)}, growing the heap), node crypto ${mib(tn)} MiB/s`);
}

(async () => {
  const t = process.hrtime.bigint();
  const h = await shaChecks();
  console.log(`instantiate + sha checks: ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms`);
  await trafficChecks();
  await gossipChecks();
  await frameRate();
  speed(h);
  console.log(`wasm role host: ${passed} passed, ${failed} failed`);
  clearTimeout(watchdog);
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log('FAIL:', e.stack || e); process.exit(1); });
