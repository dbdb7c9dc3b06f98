/* global setTimeout, fetch, WebSocket, Buffer */
// Renders a local HTML file in headless Chromium over the DevTools protocol and prints what a test
// asserts on, as JSON: console errors, every network request, per-KR counts of SVG paths, and
// (with a second argument) a PNG screenshot. Run with `node --experimental-websocket` (Node 20's
// built-in WebSocket client), so no npm package is needed.
//   node --experimental-websocket test/helpers/cdp-render.mjs FILE.html [SHOT.png]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, shot] = process.argv.slice(2);
const url = pathToFileURL(resolve(file)).href;
const profile = mkdtempSync(join(tmpdir(), 'krt-chromium-'));
const chromium = spawn(process.env.CHROMIUM ?? '/usr/bin/chromium', [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--remote-debugging-port=0',
  `--user-data-dir=${profile}`,
  '--window-size=1000,1400',
  'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe'] });

const done = (out, code = 0) => {
  chromium.kill('SIGKILL');
  try { rmSync(profile, { recursive: true, force: true }); } catch { /* best effort */ }
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(code);
};
setTimeout(() => done({ error: 'timed out' }, 1), 60_000).unref();

const browserWs = await new Promise((res, rej) => {
  let err = '';
  chromium.stderr.on('data', (c) => {
    err += c;
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
    if (m) res(m[1]);
  });
  chromium.on('exit', (code) => rej(new Error(`chromium exited ${code}: ${err}`)));
});
const port = new URL(browserWs).port;
const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const page = targets.find((t) => t.type === 'page');
const ws = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((r) => ws.addEventListener('open', r, { once: true }));
let id = 0;
const pending = new Map();
const consoleErrors = [];
const requests = [];
let loaded = () => {};
const load = new Promise((r) => (loaded = r));
ws.addEventListener('message', (ev) => {
  const msg = JSON.parse(ev.data);
  if (msg.id && pending.has(msg.id)) {
    pending.get(msg.id)(msg);
    pending.delete(msg.id);
    return;
  }
  if (msg.method === 'Runtime.consoleAPICalled' && (msg.params.type === 'error' || msg.params.type === 'warning')) consoleErrors.push(msg.params.args.map((a) => a.value ?? a.description).join(' '));
  if (msg.method === 'Runtime.exceptionThrown') consoleErrors.push(msg.params.exceptionDetails.text);
  if (msg.method === 'Log.entryAdded' && msg.params.entry.level === 'error') consoleErrors.push(msg.params.entry.text);
  if (msg.method === 'Network.requestWillBeSent') requests.push(msg.params.request.url);
  if (msg.method === 'Page.loadEventFired') loaded();
});
const send = (method, params = {}) =>
  new Promise((r) => {
    const n = ++id;
    pending.set(n, r);
    ws.send(JSON.stringify({ id: n, method, params }));
  });
for (const d of ['Runtime', 'Log', 'Network', 'Page']) await send(`${d}.enable`);
await send('Page.navigate', { url });
await load;
// Let anything late (a deferred request, a console error) arrive.
await new Promise((r) => setTimeout(r, 500));
const evaluated = await send('Runtime.evaluate', {
  returnByValue: true,
  expression: `(() => ({
    title: document.title,
    objectives: [...document.querySelectorAll('section[data-objective]')].map((s) => s.dataset.objective),
    keyResults: [...document.querySelectorAll('.kr')].map((k) => ({
      id: k.dataset.kr,
      paths: k.querySelectorAll('svg.trajectory path').length,
      classes: [...k.querySelectorAll('svg.trajectory path')].map((p) => p.getAttribute('class')),
      revisionMarks: k.querySelectorAll('svg .revision').length,
      width: k.querySelector('svg.trajectory')?.getBoundingClientRect().width ?? 0,
    })),
    checkins: [...document.querySelectorAll('ol.checkins li')].map((li) => li.textContent),
    scripts: document.querySelectorAll('script').length,
    text: document.body.innerText,
  }))()`,
});
let screenshot = null;
if (shot) {
  const r = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
  writeFileSync(shot, Buffer.from(r.result.data, 'base64'));
  screenshot = shot;
}
ws.close();
done({ consoleErrors, requests, page: evaluated.result.result.value, screenshot });
