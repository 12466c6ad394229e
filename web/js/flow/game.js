// One game at a time, in a room. A session either starts a new room (the
// starter holds player slot 1) or joins a running one by its id (watching,
// until a slot is taken); after that both go the same way. This flow
// begins and ends sessions, and answers what moves between a game and the
// list: the address the page opened at, Quit, Cancel, Retry and Back.
//
// Both carry the player id: the server lists that player's saves of the
// game once it runs (saving.js). A new room goes to the worker the
// coordinator picks (servers.js), or to a zone or a worker asked for.

import { newRef } from '../model/envelope.js';
import { newSession, started as startedSession, updateSession } from '../model/session.js';
import { enter, remember } from '../model/state.js';

const START_TIMEOUT_MS = 30_000; // from "start" to a picture or an open input channel

export function createGame(app) {
  const { store, pad, keyboard, gamepads, touchpad, screen } = app;
  let startTimer = 0;

  /** Boots the app: the game list, or the room the address names. */
  function boot() {
    const room = app.address.opened();
    store.update((st) => enter({ ...st, intent: room ? { room } : null }, 'connecting'));
    app.connection.connect();
    // While the socket opens: the click's peer connection, built now.
    app.stream.warm();
  }

  /** Not connected yet: do it once the server has said hello. */
  function later(intent) {
    store.update((st) => enter({ ...st, intent }, 'connecting'));
    app.connection.connect();
  }

  /** The server said hello on a socket dialled to do something: do it. */
  function greeted() {
    const st = store.get();
    if (st.phase !== 'connecting' && st.phase !== 'unreachable') return;
    const { intent } = st;
    store.update({ intent: null });
    if (intent?.room) joinRoom(intent.room, intent.opts);
    else if (intent?.game) startGame(st.games.find((g) => g.id === intent.game.id) ?? intent.game);
    else toList();
  }

  /** Starts game in a new room, with the options the player chose. */
  function startGame(game) {
    // A controller page that starts a game shows it: it is a page like any other from now on.
    store.update({ last: { kind: 'start', game, room: null, slot: 1 }, controller: false });
    if (!app.connection.ready) {
      later({ game });
      return;
    }
    const st = store.get();
    const s = begin({ kind: 'start', game, worker: st.pick });
    const data = { game: game.id, player: st.player };
    if (st.prefs.private) data.private = true;
    if (st.prefs.crowd) data.crowd = true;
    if (s.nickSent) data.nick = s.nickSent;
    // Sent at once, measured or not: without a latency report the
    // coordinator picks by load, and nobody waits for a slow ping.
    if (st.zone) data.zone = st.zone;
    if (s.worker) data.worker = s.worker;
    app.connection.send('start', data, s.ref);
    began(s, 'Finding a game server…');
  }

  /**
   * Joins a running room by its id, watching at first. opts: game (when
   * known, for the loading screen), slot (a slot to ask for at once: the
   * one held before the connection was lost).
   */
  function joinRoom(room, opts = {}) {
    store.update({ last: { kind: 'join', game: opts.game ?? null, room, slot: opts.slot ?? 0 } });
    if (!app.connection.ready) {
      later({ room, opts });
      return;
    }
    const { controller } = store.get();
    const s = begin({ kind: 'join', game: opts.game ?? null, roomId: room, wantSlot: opts.slot > 0 ? opts.slot : 0, controller });
    app.address.enter(room);
    const data = { room, player: store.get().player };
    if (s.nickSent) data.nick = s.nickSent;
    if (controller) data.controller = true; // no picture, no sound
    app.connection.send('join', data, s.ref);
    began(s, 'Connecting to the room…');
  }

  /** Leaves whatever runs, and makes the session for a start or a join. */
  function begin({ kind, game, ...fields }) {
    const old = end();
    if (old?.live) app.connection.send('quit', {}, old.ref);
    const s = { ...newSession({ kind, game, ref: newRef(), nick: store.get().prefs.nick }), ...fields };
    store.update({ session: s });
    return s;
  }

  /** The request is out: wait for the game, with a peer connection ready. */
  function began(s, step) {
    // Made now, while the server starts the game: building a peer
    // connection takes the browser tens of milliseconds that would
    // otherwise come after the offer, on the way to the first picture.
    app.stream.prepare(s.ref);
    store.update((st) => enter(st, 'loading', { loading: { game: s.game, joining: s.kind === 'join' }, step }));
    clearTimeout(startTimer);
    startTimer = setTimeout(
      () => app.failures.lose(s.ref, app.stream.relayProblem() ?? 'The game took too long to start.'),
      START_TIMEOUT_MS,
    );
  }

  /**
   * Tears the current session down on this side and returns it (or null);
   * the caller tells the server if needed.
   */
  function end() {
    const s = store.get().session;
    // Release first, while the input channel may still be open to carry it.
    keyboard.clear();
    touchpad.visible = false;
    gamepads.stop();
    pad.releaseAll();
    pad.detach();
    clearTimeout(startTimer);
    app.stream.close();
    app.transfers.close();
    screen.detach();
    screen.exitFullscreen();
    store.update((st) => (st.session ? { ...st, session: null, panel: null } : st));
    return s;
  }

  /** The game list. */
  function toList() {
    end();
    app.address.leave();
    store.update((st) => {
      const next = enter(st, 'list');
      // ?debug opens the servers panel with the list, once: the player closes it from then on.
      return st.serversOnList ? { ...next, servers: true, serversOnList: false } : next;
    });
  }

  /** Quit (top bar) and Cancel (loading): leave the room, back to the list. */
  function quit() {
    const s = end(); // sends the all-released pad first
    if (s?.live) app.connection.send('quit', {}, s.ref);
    if (app.connection.ready) toList();
    else back();
  }

  function retry() {
    const { phase, last } = store.get();
    if (phase === 'outdated') location.reload();
    else if (phase === 'unreachable') {
      store.update({ note: 'Connecting…' });
      app.connection.connect();
    } else if (!last) back();
    // The room is over: the same game, in a new room.
    else if (phase === 'ended' && last.game) startGame(last.game);
    // The room may well live on without us: back in, on the same slot.
    else if (last.room && (phase === 'lost' || last.kind === 'join')) joinRoom(last.room, { game: last.game, slot: last.slot });
    else if (last.game) startGame(last.game);
    else back();
  }

  function back() {
    if (app.connection.ready) {
      toList();
      return;
    }
    app.address.leave();
    store.update((st) => enter({ ...st, intent: null }, 'connecting'));
    app.connection.connect();
  }

  /** "started": the game runs; the picture and the input channel follow. */
  function started(data) {
    const s = store.get().session;
    console.debug('telecart: the game runs in room', data.room);
    if (!s) {
      console.info('telecart: ignoring "started" outside a session');
      return;
    }
    if (s.kind === 'start' && data.game?.id && data.game.id !== s.game.id) {
      // Left over from a session quit a moment ago.
      console.info('telecart: ignoring "started" for', data.game.id, 'while starting', s.game.id);
      return;
    }
    if (s.started) app.stream.reset(); // a second "started": negotiation begins again
    store.update((st) => {
      const next = updateSession(st, s.ref, (x) => startedSession(x, data));
      return remember({ ...next, step: 'Connecting to the game…' }, { game: next.session.game });
    });
    if (typeof data.room === 'string' && data.room) inRoom(data.room);
    // A game that runs is one played, for the list's "Recently played".
    const played = store.get().session?.game?.id;
    if (played && !s.started) app.options.played(played);
    // The input channel, and even the first picture, may have come while
    // this message waited in the queue behind the offer's answer: they
    // do not wait in it.
    playing(s.ref);
  }

  /** The room's id is known: the address bar shows it. */
  function inRoom(id) {
    const s = store.get().session;
    if (s.roomId === id && app.address.shows(id)) return;
    store.update((st) => remember(updateSession(st, s.ref, { roomId: id }), { room: id }));
    app.address.enter(id);
  }

  /** Playing once the game runs and either its picture or its input channel is there. */
  function playing(ref) {
    const st = store.get();
    const s = st.session;
    if (s?.ref !== ref || !s.started || st.phase === 'playing') return;
    if (!s.channelOpen && !s.frame) return;
    clearTimeout(startTimer);
    store.update((x) => enter(x, 'playing'));
    gamepads.start();
    app.continuing.offer();
  }

  return { boot, greeted, startGame, joinRoom, end, toList, quit, retry, back, started, inRoom, playing };
}
