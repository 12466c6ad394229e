// The signalling socket (/ws): dialling it, the hello it owes within 10 s,
// and the one queue every server message goes through.
//
// Messages are handled strictly in arrival order through one promise
// chain: applying an offer is asynchronous, and a candidate or an "ended"
// must never overtake the message before it. The socket's closing, and
// Back and Forward, go through the same chain for the same reason. Which
// flow a message goes to is main.js's table; what it means is theirs.

import { Signal } from '../network.js';
import { checkEnvelope } from '../model/envelope.js';
import { dialled, greeted } from '../model/state.js';

const HELLO_TIMEOUT_MS = 10_000; // a socket that opens but never greets is as good as down

/**
 * handlers: by message type, a function of the message's data; besides
 * them greeted(fresh, data) after hello, closed(why) when the socket is
 * lost (why: the close's { opened, code, reason }), outdated() when the
 * server speaks another protocol.
 */
export function createConnection(app, handlers) {
  const { store } = app;
  const signal = new Signal('/ws');
  let gen = 0; // socket generation: what a replaced socket queued is dropped
  let helloTimer = 0;
  let dialTimer = 0; // the next dial, when one waits
  let queue = Promise.resolve();

  function enqueue(g, fn) {
    queue = queue
      .then(() => (g === gen ? fn() : undefined))
      .catch((err) => console.error('telecart: handling a server message failed', err));
  }

  function closed(why = {}) {
    clearTimeout(helloTimer);
    return handlers.closed(why);
  }

  signal.addEventListener('open', () => {
    const g = gen;
    clearTimeout(helloTimer);
    helloTimer = setTimeout(() => {
      if (g !== gen || store.get().hello) return;
      console.warn('telecart: no hello from the server');
      signal.close();
      enqueue(g, closed);
    }, HELLO_TIMEOUT_MS);
  });
  signal.addEventListener('message', (e) => {
    const msg = e.detail;
    enqueue(gen, () => handle(msg));
  });
  signal.addEventListener('close', (e) => enqueue(gen, () => closed(e.detail)));

  function handle(msg) {
    const m = checkEnvelope(msg, store.get().session?.ref);
    if (m.outdated) {
      console.warn('telecart: server speaks protocol version', msg.v, 'this page speaks another');
      return handlers.outdated();
    }
    if (m.stale) {
      console.info('telecart: ignoring', msg.type, 'of a session that is over');
      return undefined;
    }
    if (m.type === 'error' && !store.get().hello) {
      // The server refused this socket (too many from here, say): the
      // close that follows says why, and is what the page acts on. It
      // is about no session, whatever one plays on.
      console.info('telecart: the server refused this connection:', m.data?.message);
      return undefined;
    }
    if (m.type === 'hello') {
      clearTimeout(helloTimer);
      const fresh = !store.get().hello; // the first on this socket, rather than news of a worker
      store.update((st) => greeted(st, m.data));
      return handlers.greeted(fresh, m.data);
    }
    const handler = handlers[m.type];
    if (!handler) {
      console.info('telecart: ignoring a message of unknown type', m.type, msg);
      return undefined;
    }
    return handler(m.data);
  }

  return {
    /** Dials the server (again), replacing the socket and any dial waiting. */
    connect() {
      clearTimeout(dialTimer);
      clearTimeout(helloTimer);
      gen++;
      store.update(dialled);
      signal.connect();
    },

    /** Runs fn (which dials, or counts down to it) after ms, in place of any dial waiting. */
    later(ms, fn) {
      clearTimeout(dialTimer);
      dialTimer = setTimeout(fn, ms);
    },

    /** Hangs up for good: nothing queued or waiting runs. */
    stop() {
      clearTimeout(dialTimer);
      signal.close();
      gen++;
    },

    /** True once the server has greeted this socket: requests can go. */
    get ready() {
      return signal.open && store.get().hello;
    },

    /** Sends one envelope, for the game session ref when given; false when the socket is not open. */
    send(type, data, ref) {
      return signal.send(type, data, ref);
    },

    /** Runs fn in turn with the server's messages. */
    enqueue(fn) {
      enqueue(gen, fn);
    },
  };
}
