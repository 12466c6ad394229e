// The connectivity check in the browser (/check): the steps of
// `telecart check` (internal/check), with this browser's own fetch,
// WebSocket and RTCPeerConnection, each result added to the store as it
// comes. The test connection to a worker is the protocol's `check`: the
// worker offers a connection with one data channel that echoes.

import { candidatePort, servers, wantedCandidate, ways, words } from '../model/check.js';

const TIMEOUT_MS = 15000; // one step's wait: a far TURN server from a busy machine
const VERSION = 1;

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fetch that wants a 2xx answer within the step's time; throws otherwise. */
async function get(url) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const res = await fetch(url, { cache: 'no-store', mode: 'cors', credentials: 'omit', signal: abort.signal });
    res.body?.cancel().catch(() => {});
    if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: `${res.status} ${res.statusText}`.trim() });
  } finally {
    clearTimeout(timer);
  }
}

/** The check's WebSocket: the hello, and each test connection's messages by its reference. */
function openSocket(url) {
  const ws = new WebSocket(url);
  const checks = new Map();
  let gotHello;
  // A socket over the coordinator's limits is sent an error, then closed
  // with Try Again Later (1013) and the same words.
  let refusal = '';
  const hello = new Promise((resolve, reject) => {
    gotHello = resolve;
    ws.addEventListener('error', () => reject(new Error('the WebSocket failed')));
    ws.addEventListener('close', (e) => {
      if (e.code === 1013 && !refusal) refusal = e.reason.trim();
      reject(Object.assign(new Error('the WebSocket closed'), { refusal }));
    });
  });
  const opened = new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve);
    ws.addEventListener('error', () => reject(new Error('the WebSocket did not open')));
  });
  ws.addEventListener('message', (e) => {
    let m;
    try {
      m = JSON.parse(e.data);
    } catch {
      return;
    }
    if (m.type === 'hello') gotHello(m.data ?? {});
    else if (m.type === 'error' && !m.session) refusal = String(m.data?.message ?? '');
    else checks.get(m.session)?.(m);
  });
  const send = (session, type, data) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ v: VERSION, type, session, data }));
  };
  return { ws, opened, hello, checks, send };
}

/** The types of candidate a new connection gathers with one server (none: host only). */
async function gather(iceServers) {
  const pc = new RTCPeerConnection({ iceServers });
  const types = new Set();
  try {
    pc.createDataChannel('gather');
    const complete = new Promise((resolve) => {
      pc.addEventListener('icecandidate', (e) => {
        if (e.candidate) {
          if (e.candidate.type) types.add(e.candidate.type);
        } else resolve();
      });
    });
    await pc.setLocalDescription(await pc.createOffer());
    await Promise.race([complete, wait(TIMEOUT_MS)]);
  } finally {
    pc.close();
  }
  return types;
}

/** One test connection to a worker one way: resolves { ok, kind, ports, message }. */
function connect(sock, worker, way) {
  const ref = `check-${worker}-${way.mode}-${Math.random().toString(36).slice(2, 10)}`;
  const config = way.relay
    ? { iceServers: [{ urls: way.relay.url, username: way.relay.username, credential: way.relay.credential }], iceTransportPolicy: 'relay' }
    : { iceServers: way.stun.map((s) => ({ urls: s.url, username: s.username, credential: s.credential })) };
  const pc = new RTCPeerConnection(config);
  const ports = [];
  const token = Math.random().toString(36).slice(2);
  let answered = false;
  const early = [];
  return new Promise((resolve) => {
    let finished = false;
    const finish = (result) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.checks.delete(ref);
      sock.send(ref, 'quit', {});
      pc.close();
      resolve({ ...result, ports });
    };
    const timer = setTimeout(() => finish({ ok: false, kind: answered ? way.mode : 'no-offer' }), TIMEOUT_MS);
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') finish({ ok: false, kind: way.mode });
    });
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate) sock.send(ref, 'candidate', e.candidate.toJSON());
    });
    pc.addEventListener('datachannel', (e) => {
      const dc = e.channel;
      dc.addEventListener('open', () => dc.send(token));
      dc.addEventListener('message', (m) => {
        if (m.data === token) finish({ ok: true });
      });
    });
    sock.checks.set(ref, async (m) => {
      try {
        if (m.type === 'ended' && answered) {
          // The worker's end failed, or its time ran out: no connection.
          finish({ ok: false, kind: way.mode });
        } else if (m.type === 'error' || m.type === 'ended') {
          finish({ ok: false, kind: 'refused', message: m.data?.message ?? m.data?.reason ?? '' });
        } else if (m.type === 'offer' && !answered) {
          await pc.setRemoteDescription({ type: 'offer', sdp: m.data.sdp });
          await pc.setLocalDescription(await pc.createAnswer());
          sock.send(ref, 'answer', { sdp: pc.localDescription.sdp });
          answered = true;
          for (const c of early.splice(0)) await pc.addIceCandidate(c).catch(() => {});
        } else if (m.type === 'candidate') {
          const p = candidatePort(m.data.candidate ?? '');
          if (p && !ports.includes(p)) ports.push(p);
          if (answered) await pc.addIceCandidate(m.data).catch(() => {});
          else early.push(m.data);
        }
      } catch {
        finish({ ok: false, kind: way.mode });
      }
    });
    sock.send(ref, 'check', { worker });
  });
}

/**
 * Runs every step it can against the coordinator at base (this page's
 * origin), adding each result to the store's check.results, and sets
 * check.done at the end.
 */
export async function runCheck(store, base) {
  const add = (r) => store.update((s) => ({ ...s, check: { ...s.check, results: [...s.check.results, r] } }));
  const done = () => store.update((s) => ({ ...s, check: { ...s.check, done: true } }));

  // 1. The coordinator answers.
  try {
    await get(`${base}/healthz`);
    add({ step: 'coordinator', ok: true, words: `The coordinator answers at ${base}.` });
  } catch (err) {
    const f = err.status ? { kind: 'bad-health', url: base, status: err.status } : { kind: 'no-coordinator', url: base };
    add({ step: 'coordinator', ok: false, words: words(f) });
    return done();
  }

  // 2. The WebSocket, and its hello.
  const wsURL = `${base.replace(/^http/, 'ws')}/ws`;
  const sock = openSocket(wsURL);
  try {
    let hello;
    try {
      await Promise.race([sock.opened, wait(TIMEOUT_MS).then(() => { throw new Error('timeout'); })]);
    } catch {
      add({ step: 'websocket', ok: false, words: words({ kind: 'no-websocket', url: wsURL }) });
      return done();
    }
    try {
      hello = await Promise.race([sock.hello, wait(TIMEOUT_MS).then(() => { throw new Error('timeout'); })]);
    } catch (e) {
      const f = e.refusal ? { kind: 'socket-refused', url: wsURL, message: e.refusal } : { kind: 'no-hello', url: wsURL };
      add({ step: 'websocket', ok: false, words: words(f) });
      return done();
    }
    add({ step: 'websocket', ok: true, words: `The WebSocket at ${wsURL} is up.` });

    // 3. Workers.
    const workers = Array.isArray(hello.workers) ? hello.workers : [];
    if (workers.length === 0) add({ step: 'workers', ok: false, words: words({ kind: 'no-workers', url: base }) });
    else add({ step: 'workers', ok: true, words: `${workers.length} ${workers.length === 1 ? 'worker' : 'workers'} registered: ${workers.map((w) => w.id).join(', ')}.` });

    // 4. Each worker's ping.
    for (const w of workers) {
      if (!w.ping) {
        add({ step: 'ping', worker: w.id, ok: false, words: words({ kind: 'no-ping-url', worker: w.id }) });
        continue;
      }
      const url = new URL(w.ping, base).href;
      try {
        await get(url);
        add({ step: 'ping', worker: w.id, ok: true, words: `Worker ${w.id}'s ping at ${url} answers.` });
      } catch {
        add({ step: 'ping', worker: w.id, ok: false, words: words({ kind: 'no-ping', worker: w.id, url }) });
      }
    }

    // 5. ICE candidates, with each server alone.
    const list = [{ url: '' }, ...servers(hello.iceServers)];
    const gathered = await Promise.all(list.map((s) => gather(s.url ? [{ urls: s.url, username: s.username, credential: s.credential }] : [])
      .catch(() => new Set())));
    list.forEach((s, i) => {
      const want = wantedCandidate(s.url);
      const ok = gathered[i].has(want);
      const kind = { host: 'no-host', srflx: 'no-srflx', relay: 'no-relay' }[want];
      add({
        step: 'candidates', server: s.url, ok,
        words: ok ? (s.url ? `A ${want} candidate from ${s.url}.` : 'Host candidates gathered: this browser has a network address for WebRTC.') : words({ kind, url: s.url }),
      });
    });

    // 6. A test connection to each worker, each way there is.
    for (const w of workers) {
      for (const way of ways(hello.iceServers)) {
        const r = await connect(sock, w.id, way);
        const url = way.relay?.url ?? '';
        let said;
        if (r.ok) said = way.mode === 'direct' ? `A direct connection to worker ${w.id} works.` : `A connection to worker ${w.id} through ${url} works.`;
        else said = words({ kind: r.kind, worker: w.id, url, ports: r.ports, message: r.message });
        add({ step: 'connection', worker: w.id, mode: way.mode, server: url, ok: r.ok, words: said });
      }
    }
  } finally {
    sock.ws.close();
  }
  return done();
}
