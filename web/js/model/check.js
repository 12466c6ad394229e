// The connectivity check (/check) as data: its steps, the ways to reach a
// worker, and the words for each failure, which say what to fix. The
// same sentences as `telecart check` (internal/check/words.go), so a
// player and an operator read the same advice.

/** The port a http(s), stun(s) or turn(s) URL reaches, its scheme's default when it names none. */
export function port(raw) {
  const i = raw.indexOf(':');
  if (i < 0) return '';
  const scheme = raw.slice(0, i);
  if (scheme === 'http' || scheme === 'https') {
    try {
      const u = new URL(raw);
      return u.port || (scheme === 'https' ? '443' : '80');
    } catch {
      return '';
    }
  }
  const hostport = raw.slice(i + 1).split('?')[0];
  const j = hostport.lastIndexOf(':');
  if (j >= 0 && !hostport.endsWith(']')) return hostport.slice(j + 1);
  return scheme.endsWith('s') ? '5349' : '3478';
}

/** How a STUN or TURN URL is reached: 'udp', 'tcp' (?transport=tcp) or 'tls' (turns:, stuns:). */
export function transport(raw) {
  const scheme = raw.split(':')[0];
  if (scheme === 'turns' || scheme === 'stuns') return 'tls';
  const query = raw.split('?')[1] ?? '';
  return query.includes('transport=tcp') ? 'tcp' : 'udp';
}

const isTurn = (url) => url.startsWith('turn:') || url.startsWith('turns:');

/** The hello's ICE servers as one URL each, with its credentials: each checked alone names the one that fails. */
export function servers(iceServers = []) {
  const out = [];
  for (const s of iceServers) {
    const urls = Array.isArray(s.urls) ? s.urls : [s.urls];
    for (const url of urls) {
      if (typeof url === 'string') out.push({ url, username: s.username, credential: s.credential });
    }
  }
  return out;
}

/**
 * The ways to reach a worker: directly (with the STUN servers), and
 * through each TURN URL alone, over UDP ('turn-udp') or TCP ('turn-tcp').
 */
export function ways(iceServers) {
  const direct = { mode: 'direct', relay: null, stun: [] };
  const relayed = [];
  for (const s of servers(iceServers)) {
    if (!isTurn(s.url)) direct.stun.push(s);
    else relayed.push({ mode: transport(s.url) === 'udp' ? 'turn-udp' : 'turn-tcp', relay: s, stun: [] });
  }
  return [direct, ...relayed];
}

/** The candidate type a server should give: host with none, relay from TURN, srflx from STUN. */
export function wantedCandidate(url) {
  if (!url) return 'host';
  return isTurn(url) ? 'relay' : 'srflx';
}

/** The port of a UDP host or srflx candidate line (where the worker takes players' packets), or null. */
export function candidatePort(candidate) {
  const f = candidate.replace(/^candidate:/, '').trim().split(/\s+/);
  if (f.length < 8 || f[2].toLowerCase() !== 'udp' || f[6] !== 'typ' || (f[7] !== 'host' && f[7] !== 'srflx')) return null;
  return f[5];
}

/** The worker endpoint of the coordinator at base. */
export function workerURL(base) {
  try {
    const u = new URL(base);
    return `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}/worker`;
  } catch {
    return 'ws://HOST:8000/worker';
  }
}

const protocol = (url) => (transport(url) === 'udp' ? 'UDP' : 'TCP');

/** What to fix, for a failure: { kind, url, worker, ports, message, status }. */
export function words(f) {
  const ports = f.ports ?? [];
  switch (f.kind) {
    case 'no-coordinator':
      return `The coordinator does not answer at ${f.url}: is it running, and is TCP port ${port(f.url)} open?`;
    case 'bad-health':
      return `The coordinator at ${f.url} answered /healthz with ${f.status}: is a proxy in front of it sending the request elsewhere?`;
    case 'no-websocket':
      return `The WebSocket at ${f.url} does not open: a proxy in front of the coordinator must pass WebSocket upgrades (the Upgrade and Connection headers) through to it.`;
    case 'no-hello':
      return `The WebSocket at ${f.url} opened, but the coordinator said nothing: a proxy in front of it may hold WebSocket messages back.`;
    case 'socket-refused':
      return `The coordinator at ${f.url} turned this connection away: ${f.message} It limits what one address may open (the limits settings); behind a reverse proxy, set trusted_proxies, or every player counts as the proxy.`;
    case 'no-workers':
      return `No worker is registered: start a worker with -coordinator ${workerURL(f.url)} and its credential from telecart worker-token.`;
    case 'no-ping-url':
      return `Worker ${f.worker} announces no ping URL, so browsers cannot time it: set its ping_listen (and ping_url).`;
    case 'no-ping':
      return `Worker ${f.worker}'s ping at ${f.url} does not answer: open TCP ${port(f.url)} or set ping_url.`;
    case 'no-host':
      return 'No host candidate: WebRTC found no network address on this machine; is its network up?';
    case 'no-srflx':
      return `No srflx candidate: the STUN server at ${f.url} did not answer: is it running, and is UDP port ${port(f.url)} open to it?`;
    case 'no-relay':
      return `No relay candidate: the TURN server at ${f.url} did not answer or refused the credentials (check turn_secret, or the username and credential in ice_servers; ${protocol(f.url)} port ${port(f.url)} must be open to it).`;
    case 'refused':
      return `Worker ${f.worker} refused the test connection: ${f.message}`;
    case 'no-offer':
      return `Worker ${f.worker} did not answer the test connection: is it running, connected to the coordinator, and not too busy?`;
    case 'direct':
      if (ports.length === 0) return `A direct connection to worker ${f.worker} failed: it offered no address to connect to; set public_ips to its public address.`;
      if (ports.length === 1) return `A direct connection to worker ${f.worker} failed: open UDP port ${ports[0]} (udp_port) and set public_ips to its public address.`;
      return `A direct connection to worker ${f.worker} failed: it uses a UDP port per player (${ports.join(', ')}); set udp_port to carry them all on one, open that UDP port, and set public_ips to its public address.`;
    case 'turn-udp':
    case 'turn-tcp':
      return `A connection to worker ${f.worker} through the TURN server at ${f.url} over ${f.kind === 'turn-udp' ? 'UDP' : 'TCP'} failed: the TURN server must accept the credentials and reach the worker's UDP port${ports.length === 1 ? ` ${ports[0]}` : ''}.`;
    default:
      return `Something failed that the check has no words for (${f.kind}).`;
  }
}

/** The title of a step's row, for people. */
export function stepTitle(r) {
  switch (r.step) {
    case 'coordinator': return 'The coordinator';
    case 'websocket': return 'The WebSocket';
    case 'workers': return 'Workers';
    case 'ping': return `Worker ${r.worker}: ping`;
    case 'candidates': return r.server ? `ICE candidates from ${r.server}` : 'ICE host candidates';
    case 'connection':
      return r.mode === 'direct' ? `Worker ${r.worker}: direct connection` : `Worker ${r.worker}: through ${r.server}`;
    default: return r.step;
  }
}

/** The check's summary: 'running', 'ok' or 'failed', of its results so far and whether it is done. */
export function summary(results, done) {
  if (results.some((r) => r.ok === false)) return done ? 'failed' : 'running';
  return done ? 'ok' : 'running';
}
