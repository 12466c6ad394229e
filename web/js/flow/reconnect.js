// When the signalling socket is lost: the game plays on, or the page says
// so and tries again.
//
// Media and input never pass through the server: a socket lost while the
// game plays over a connected peer costs nothing but the signalling. The
// page keeps the peer, says "Reconnecting…", dials again (0.5, 1, 2 … 8 s)
// and resumes the session with the secret its worker gave in "started";
// after a minute without a server it gives the game up (and when the
// worker has let the session go, failures.js joins the room anew).
// Without a game, it counts down to the next try (1 s doubling to 30 s).
// A socket the server refused (too many pages from this network, too
// many visitors) is a try that failed like any other, and shows the
// server's words instead of "Can't reach the server": the backoff goes
// on growing until a hello, never dialling in a tight loop.

import { countdown, reconnectDelay, resumeDelay, resumeGivenUp } from '../model/backoff.js';
import { failure, refusalText } from '../model/failures.js';
import { updateSession } from '../model/session.js';
import { enter } from '../model/state.js';

export function createReconnect(app) {
  const { store } = app;

  /**
   * The socket closed (or never greeted): what is left to do depends on
   * what the page was doing. why: the close ({ code, reason }).
   */
  function closed(why) {
    // Stale from now on; the next hello brings the list again.
    store.update({ hello: false, liveRooms: [] });
    const st = store.get();
    if (st.phase === 'outdated') return;
    const s = st.session;
    if (s?.resumeToken && s.roomId && st.phase === 'playing' && app.stream.connected()) {
      if (!s.resuming) {
        console.info('telecart: signalling lost; the game goes on while it reconnects');
        store.update((x) => updateSession(x, s.ref, { resuming: { attempt: 0, since: performance.now() } }));
      }
      resumeLater();
      return;
    }
    if (s) {
      // One session per socket: the server ends it with the socket.
      app.game.end();
      store.update((x) => enter(x, 'lost', { message: failure('lost', { text: 'The connection to the server was interrupted.' }) }));
      return;
    }
    if (st.phase === 'connecting' || st.phase === 'list' || st.phase === 'unreachable') {
      const refused = refusalText(why);
      const kind = refused ? 'limited' : 'unreachable';
      if (st.phase !== 'unreachable' || st.message?.kind !== kind || (refused && st.message.text !== refused)) {
        const message = refused ? failure('limited', { text: refused, back: false }) : failure('unreachable');
        store.update((x) => enter(x, 'unreachable', { message }));
      }
      retryLater();
    }
    // On any other failure screen the player chooses: Retry and Back reconnect.
  }

  /** Dials again for the session whose game goes on, or gives it up past a minute. */
  function resumeLater() {
    const s = store.get().session;
    if (resumeGivenUp(s.resuming.since, performance.now())) {
      store.update((x) => updateSession(x, s.ref, { resuming: null }));
      app.failures.lose(s.ref, 'The connection to the server was interrupted.');
      return;
    }
    const { attempt } = s.resuming;
    store.update((x) => updateSession(x, s.ref, { resuming: { ...s.resuming, attempt: attempt + 1 } }));
    app.connection.later(resumeDelay(attempt), () => {
      const now = store.get().session;
      if (now?.ref === s.ref && now.resuming) app.connection.connect();
    });
  }

  /** Counts down on the message to the next try, and dials. */
  function retryLater() {
    const { attempts } = store.get();
    store.update({ attempts: attempts + 1 });
    const due = performance.now() + reconnectDelay(attempts) * 1000;
    const tick = () => {
      const { left, wait } = countdown(due, performance.now());
      if (left <= 0) {
        store.update({ note: 'Connecting…' });
        app.connection.connect();
        return;
      }
      store.update({ note: `Trying again in ${left} s…` });
      app.connection.later(wait, tick);
    };
    tick();
  }

  /** A new socket's hello: a session that played on through the loss asks to carry on. */
  function greeted(fresh) {
    const s = store.get().session;
    if (!fresh || !s?.resuming) return;
    store.update((x) => updateSession(x, s.ref, { resuming: null, resumeSent: true }));
    app.connection.send('resume', { room: s.roomId, token: s.resumeToken }, s.ref);
  }

  return { closed, greeted };
}
