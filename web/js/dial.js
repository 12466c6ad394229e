// The signalling socket, dialled the moment the page starts. index.html
// runs this module on its own (async), as soon as it arrives and long
// before the app's forty-odd modules have, so the server's hello (the
// game list) is in by the time the app can show it. network.js's Signal
// takes the socket over on its first dial, with the events it had
// meanwhile; a page that never takes it (another entry) loses nothing.

/** The WebSocket URL of path on this page's server. */
export function socketURL(path) {
  const url = new URL(path, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

// The socket dialled at start and the events it had before it was taken;
// null once taken.
let early = dial('/ws');

function dial(path) {
  if (typeof WebSocket === 'undefined') return null;
  let ws;
  try {
    ws = new WebSocket(socketURL(path));
  } catch {
    return null; // Signal dials again, and says why
  }
  const held = [];
  ws.onopen = ws.onmessage = ws.onclose = (e) => held.push(e);
  ws.onerror = () => {}; // always followed by close
  return { ws, held };
}

/**
 * The socket dialled at start to url, and the events (open, message,
 * close) it had, in order: once, for the first dial; null after that, or
 * when it went elsewhere.
 */
export function takeEarlySocket(url) {
  const taken = early;
  early = null;
  if (taken && taken.ws.url !== url) {
    taken.ws.onopen = taken.ws.onmessage = taken.ws.onclose = null;
    taken.ws.close();
    return null;
  }
  return taken;
}
