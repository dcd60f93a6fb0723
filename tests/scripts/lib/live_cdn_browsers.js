// Drives headless Chromium pages through the browser CDN (run by
// tests/scripts/live_cdn_browsers.sh, which starts the live server): the
// cdn_client role in WebAssembly in each page (web/cdn/cdn_client.js), links
// between pages over WebRTC, the origin over HTTP.
//   1. page A loads everything from the origin
//   2. page B (another context) gets the resources from A over a data channel
//   3. B reloaded serves them from IndexedDB (no network bytes but the listing);
//      an entry tampered with in IndexedDB is refused by cache_put and fetched again
//   4. page C starts the large resource from A or B; the serving page closes
//      mid-transfer; C finishes (resumed from the other peer or the origin)
//   5. a lying page L (corrupt_content) gets honest bytes from C; C closes;
//      page N's only peer is L: N detects the flipped bytes, evicts L, and
//      ends with verified bytes from the origin
//   6. the server's demo page "/" starts the shim by itself (Geolocation API)
// Prints "ok - ..." per check, figures as "figure: ...", and exits 1 on the
// first failure. Usage: node live_cdn_browsers.js ROOT SITE_URL
'use strict';
const path = require('path');

const [ROOT, SITE] = process.argv.slice(2);
const { chromium } = require(path.join(ROOT, 'web/node_modules/playwright-core'));

const WAIT = 60000; // one step of one page
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--remote-debugging-pipe', '--allow-loopback-in-peer-connection', '--use-fake-ui-for-media-stream',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'];

let failed = false;
let diagnose = async () => {}; // prints the pages' link traces when a check fails
function check(cond, what, detail) {
  if (cond) console.log(`ok - ${what}`);
  else {
    console.log(`FAIL: ${what}${detail ? ': ' + detail : ''}`);
    failed = true;
    throw new Error(what);
  }
}
const mib = (b) => b / 1048576;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; };

async function main() {
  const listing = (await (await fetch(`${SITE}/index`)).text()).trim().split('\n').map((l) => {
    const [sha224, size, url] = l.split(' ');
    return { sha224, size: Number(size), url };
  });
  const big = listing.reduce((a, b) => (b.size > a.size ? b : a));
  const listingBytes = Buffer.byteLength((await (await fetch(`${SITE}/index`)).text()));
  console.log(`site: ${listing.length} resources, largest ${big.url} (${big.size} B)`);

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', ignoreDefaultArgs: true, args: flags, timeout: 30000 });
  const pages = {};
  const open = async (name, query) => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    page.on('pageerror', (e) => console.log(`[${name}] page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') console.log(`[${name}] console: ${m.text()}`); });
    await page.goto(`${SITE}/bundle/cdn_test.html?${query}`);
    pages[name] = page;
    return page;
  };
  const state = (page) => page.evaluate(() => window.__cdn);
  const loaded = async (name) => {
    await pages[name].waitForFunction(() => window.__cdn && window.__cdn.loads.length > 0, null, { timeout: WAIT, polling: 50 })
      .catch(() => {});
    const s = await state(pages[name]);
    check(s.loads.length > 0 && s.loads[0].event === 'load_done', `${name} loaded the page`,
      JSON.stringify({ loads: s.loads, errors: s.errors, failed: s.failed }));
    for (const r of listing) {
      const d = s.done[r.url];
      check(d && d.sha224 === r.sha224 && d.bytes === r.size, `${name} used ${r.url} with the listed SHA-224`, JSON.stringify(d));
    }
    check(s.errors.length === 0, `${name} had no shim errors`, s.errors.join('; '));
    return s;
  };
  diagnose = async () => {
    for (const [name, page] of Object.entries(pages)) {
      const s = await state(page).catch(() => null);
      if (!s) continue;
      const kinds = s.events.filter((e) => !/fetch_done|cached/.test(e.event)).map((e) => `${(e.t / 1000).toFixed(2)}s ${e.event} ${JSON.stringify(e.fields).slice(0, 80)}`);
      console.log(`[${name}] id ${s.id} links ${JSON.stringify(s.links)} errors ${JSON.stringify(s.errors)} link errors ${JSON.stringify(s.linkErrors)}\n  ${kinds.slice(-25).join('\n  ')}`);
    }
  };
  const near = (i) => `lat=${(48.85 + i * 0.01).toFixed(2)}&lon=2.35`;

  // 1. the first page: everything from the origin
  await open('A', near(0));
  const A = await loaded('A');
  check(listing.every((r) => A.done[r.url].source === 'origin'), 'A: every resource from the origin');

  // 2. the next page: from A over WebRTC
  await open('B', `${near(1)}&wait_link_ms=15000`);
  const B = await loaded('B');
  check(B.linked.includes(A.id), `B linked with A (${A.id})`, JSON.stringify(B.linked));
  for (const r of listing)
    check(B.done[r.url].source === 'peer' && B.done[r.url].peer_bytes === r.size, `B: ${r.url} from a peer`, JSON.stringify(B.done[r.url]));
  const p2p = B.done[big.url];
  const p2pMiBps = mib(big.size) / (p2p.duration_us / 1e6);
  const originMiBps = mib(big.size) / (A.done[big.url].duration_us / 1e6);
  const ttfbPeer = median(listing.map((r) => B.done[r.url].ttfb_us)) / 1000;
  const ttfbOrigin = median(listing.map((r) => A.done[r.url].ttfb_us)) / 1000;

  // 3. B reloaded: from IndexedDB. One stored entry is tampered with first:
  // cache_put refuses it (the role verifies what the disk gives back) and it
  // comes from the network again.
  const small = listing.reduce((a, b) => (b.size < a.size ? b : a));
  await pages.B.waitForFunction((n) => window.__cdn.stored >= n, listing.length, { timeout: WAIT, polling: 50 });
  await pages.B.evaluate((url) => new Promise((resolve, reject) => {
    const rq = indexedDB.open('peerlab-cdn', 1);
    rq.onsuccess = () => {
      const store = rq.result.transaction('resources', 'readwrite').objectStore('resources');
      const get = store.get(url);
      get.onsuccess = () => {
        const e = get.result, b = new Uint8Array(e.bytes);
        b[0] ^= 1;
        store.put(e).onsuccess = resolve;
      };
    };
    rq.onerror = () => reject(rq.error);
  }), small.url);
  await pages.B.reload();
  const B2 = await loaded('B');
  check(B2.restored === listing.length - 1, `B reloaded: ${listing.length - 1} entries back from IndexedDB, the tampered one refused`, `restored ${B2.restored}`);
  const refused = B2.events.filter((e) => e.event === 'command_failed' && /fail their SHA-224/.test(e.fields.reason || ''));
  check(refused.length === 1 && refused[0].fields.reason.includes(small.url), `B reloaded: cache_put refused the tampered ${small.url}`, JSON.stringify(refused));
  check(B2.done[small.url].source !== 'cache', `B reloaded: ${small.url} fetched again (${B2.done[small.url].source})`);
  for (const r of listing.filter((x) => x !== small))
    check(B2.done[r.url].source === 'cache' && B2.done[r.url].peer_bytes === 0 && B2.done[r.url].origin_bytes === 0,
      `B reloaded: ${r.url} from the cache`, JSON.stringify(B2.done[r.url]));
  const net = B2.originHttpBytes + B2.peerDataBytesIn;
  check(net === listingBytes + small.size, `B reloaded: network bytes only for the listing and ${small.url}`,
    `HTTP ${B2.originHttpBytes} B + peer DATA ${B2.peerDataBytesIn} B, listing ${listingBytes} B`);

  // 4. C's large transfer loses its serving page midway
  await open('C', `${near(2)}&wait_link_ms=15000`);
  await pages.C.waitForFunction(() => window.__cdn.id, null, { timeout: WAIT });
  const cId = (await state(pages.C)).id;
  const serving = await Promise.race(['A', 'B'].map((n) =>
    pages[n].waitForFunction(([id, min]) => (window.__cdn.servedBytes[id] || 0) >= min, [cId, 1 << 20], { timeout: WAIT, polling: 5 })
      .then(() => n)));
  await pages[serving].context().close();
  delete pages[serving];
  const other = serving === 'A' ? 'B' : 'A';
  const C = await loaded('C');
  const resumed = C.events.filter((e) => e.event === 'cdn_resumed' && e.fields.url === big.url);
  check(resumed.length > 0, `C: ${big.url} resumed after ${serving} closed mid-transfer`, JSON.stringify(C.done[big.url]));
  check(C.done[big.url].peer_bytes > 0, `C: ${big.url} partly from peers (${C.done[big.url].source}, peer ${C.done[big.url].peer_bytes} B, origin ${C.done[big.url].origin_bytes} B)`);
  await pages[other].context().close();
  delete pages[other];

  // 5. a lying page
  await open('L', `${near(3)}&wait_link_ms=15000&adversary=corrupt_content`);
  const L = await loaded('L');
  check(L.linked.includes(cId) && listing.some((r) => L.done[r.url].peer_bytes > 0), 'L got resources from C');
  await pages.C.context().close();
  delete pages.C;
  await open('N', `${near(4)}&wait_link_ms=15000`);
  const N = await loaded('N');
  const corrupt = N.events.filter((e) => e.event === 'cdn_corrupt_detected');
  const evicted = N.events.filter((e) => e.event === 'cdn_evicted');
  check(corrupt.length > 0 && corrupt.every((e) => e.fields.peer === L.id), `N detected L's (${L.id}) corrupt bytes`, JSON.stringify(corrupt));
  check(evicted.some((e) => e.fields.peer === L.id) && evicted.every((e) => e.fields.peer === L.id), 'N evicted L and no one else', JSON.stringify(evicted));

  // 6. the live server's own page ("/"): the shim starts by itself, located by the Geolocation API
  {
    const ctx = await browser.newContext({ geolocation: { latitude: 48.9, longitude: 2.4 }, permissions: ['geolocation'] });
    const page = pages.D = await ctx.newPage();
    page.on('pageerror', (e) => console.log(`[D] page error: ${e.message}`));
    await page.goto(`${SITE}/`);
    const D = await loaded('D');
    const located = D.events.find((e) => e.event === 'located');
    check(located && located.values.lat === 48.9 && located.values.lon === 2.4, 'D (the demo page at /) started by itself, located by navigator.geolocation', JSON.stringify(located));
  }

  // figures
  const sha = await pages.N.evaluate(() => PeerlabCdn.benchSha(window.__cdnPage.host, 32));
  console.log(`figure: data channel ${big.url} peer to peer: ${p2pMiBps.toFixed(1)} MiB/s (${(p2p.duration_us / 1000).toFixed(0)} ms); from the origin over HTTP: ${originMiBps.toFixed(1)} MiB/s`);
  console.log(`figure: time to first byte, median of ${listing.length}: from a peer ${ttfbPeer.toFixed(1)} ms, from the origin ${ttfbOrigin.toFixed(1)} ms`);
  console.log(`figure: hashing 32 MiB in a page: wasm SHA-224 ${sha.wasmSha224MiBps.toFixed(0)} MiB/s, crypto.subtle SHA-256 ${sha.subtleSha256MiBps.toFixed(0)} MiB/s`);
  console.log(`figure: link set-up (cdn_linked setup_us) B: ${B.events.filter((e) => e.event === 'cdn_linked').map((e) => (e.values.setup_us / 1000).toFixed(0) + ' ms').join(', ')}`);
  const linkErrors = [];
  for (const page of Object.values(pages)) linkErrors.push(...(await state(page)).linkErrors);
  console.log(`WebRTC errors seen by the open pages (a peer page closed, or a set-up failed; the role dropped the link): ${linkErrors.length ? linkErrors.join('; ') : 'none'}`);
  await browser.close();
}

const watchdog = setTimeout(() => { console.log('FAIL: watchdog (240 s)'); process.exit(1); }, 240000);
main().then(() => { clearTimeout(watchdog); process.exit(failed ? 1 : 0); },
  async (e) => {
    if (!failed) console.log(`FAIL: ${e.message}`);
    await Promise.race([diagnose(), new Promise((r) => setTimeout(r, 10000))]);
    process.exit(1);
  });

