// How a session ends when nobody chose to end it: the connection to the
// game lost, the server saying it ended or could not be, the page out of
// date. Each ends the session and shows why, with a way on.

import { errorOutcome, failure } from '../model/failures.js';
import { updateSession } from '../model/session.js';
import { enter } from '../model/state.js';

const EXPLANATION_GRACE_MS = 750; // how long a lost connection waits for the server to say why

export function createFailures(app) {
  const { store } = app;

  /** The session ref, if still the current one. */
  function current(ref) {
    const s = store.get().session;
    return s?.ref === ref ? s : null;
  }

  /**
   * The connection to the game is gone: say so, offer Retry. When the
   * server ends a game it says why on the socket, but the peer
   * connection's close travels another path and may arrive first: the
   * explanation gets a moment to come and take precedence ("ended",
   * "error").
   */
  function lose(ref, text) {
    const s = current(ref);
    if (!s || s.losing) return;
    store.update((st) => updateSession(st, ref, { losing: true }));
    setTimeout(() => {
      const now = current(ref);
      if (!now) return; // explained, or the player moved on
      app.game.end();
      if (now.live) app.connection.send('quit', {}, ref); // free the server's seat at once
      store.update((st) => enter(st, 'lost', { message: failure('lost', { text }) }));
    }, EXPLANATION_GRACE_MS);
  }

  /** The session ref cannot go on here (its stream refused, say): phase, with a message. */
  function fail(ref, phase, opts) {
    const s = current(ref);
    if (!s) return;
    app.game.end();
    if (s.live) app.connection.send('quit', {}, ref);
    store.update((st) => enter(st, phase, { message: failure(phase, opts) }));
  }

  /** "ended": the worker ended the game (it crashed, or the worker went). */
  function ended(data) {
    if (!store.get().session) {
      console.info('telecart: ignoring "ended" outside a session', data);
      return;
    }
    const reason = typeof data.reason === 'string' ? data.reason.trim() : '';
    // A worker ends a session whose peer never connected: when the relay
    // refused this browser, that is the reason worth telling.
    const relay = app.stream.relayProblem();
    app.game.end();
    if (relay) {
      store.update((st) => enter(st, 'lost', { message: failure('lost', { text: relay, detail: reason }) }));
      return;
    }
    store.update((st) => enter(st, 'ended', { message: failure('ended', { text: 'Start it again, or pick another game.', detail: reason }) }));
  }

  /** "error": the server could not do what the session asked; the session ends, mostly. */
  function error(data) {
    // Shown to the player below; the console only keeps the server's words.
    console.info('telecart: server error', data.code, data.message);
    const st = store.get();
    const s = st.session;
    if (!s) return; // nothing of ours was waiting for it
    const outcome = errorOutcome(data, s, st.phase);
    if (outcome.ignore) return;
    app.game.end();
    if (outcome.rejoin) {
      // The worker let the session go meanwhile: join the room anew.
      app.game.joinRoom(s.roomId, { game: s.game, slot: s.slot });
      return;
    }
    store.update((x) => enter('last' in outcome ? { ...x, last: outcome.last } : x, outcome.phase, { message: outcome.message }));
  }

  /** The server speaks another protocol: only a reload helps. */
  function outdated() {
    app.game.end();
    app.connection.stop();
    store.update((st) => enter(st, 'outdated', { message: failure('outdated') }));
  }

  return { lose, fail, ended, error, outdated };
}
