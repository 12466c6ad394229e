// The app's state: one plain object, held by the store (store.js) and
// replaced, never changed in place, by every update. The views draw it;
// the flows change it as the server and the player act. Nobody keeps a
// copy: the flows hold only what cannot be data (the socket, the peer
// connection, timers), and the pad its own send counters (input.js),
// which change with every key and never wait for a store.
//
// Pure functions: the state's first shape, and the changes many parts of
// the app make alike (the phase, a toast, what Retry does next).

import { validGames } from './games.js';

/** The phases, as window.telecart.state reports them; after "playing", the failures. */
export const PHASES = Object.freeze([
  'connecting', 'list', 'loading', 'playing',
  'unreachable', 'lost', 'busy', 'failed', 'ended', 'outdated',
]);

const VIEWS = { connecting: 'connecting', list: 'list', loading: 'loading', playing: 'player' };

/** The screen a phase shows: connecting, list, loading, player, or a failure's message. */
export function viewOf(phase) {
  return VIEWS[phase] ?? 'message';
}

/**
 * The state a page starts in. prefs: the stored nickname and room options;
 * player: the id saves belong to; zone: the one the address asks for;
 * debug: the servers panel opens with the list; touch: a touch screen;
 * controller: the page is a room's controller page (a gamepad, no picture);
 * smooth and fullscreenSupported: the screen's; filterAvailable: whether
 * this browser can draw the screen filters (WebGL).
 */
export function initialState({ prefs, player, zone = '', debug = false, touch = false, smooth = false, fullscreenSupported = false, controller = false, filterAvailable = true }) {
  return {
    // What the page does, and on a failure what it says (failures.js),
    // with the line under it (the countdown to the next try).
    phase: 'connecting',
    message: null,
    note: '',
    // The loading screen: { game, joining } and the step under it.
    loading: null,
    step: '',

    // The signalling: hello seen on the current socket, failed
    // connections in a row (for the backoff), and what to do once
    // greeted: { game } to start it, { room, opts } to join it, null for
    // the list.
    hello: false,
    attempts: 0,
    intent: null,
    // What Retry goes back to: { kind: 'start' | 'join', game, room, slot },
    // filled in as the server tells more.
    last: null,
    // The game session in progress (session.js), or null.
    session: null,

    // hello's games and ICE servers; the list's filter and the game
    // selected on it (by id); the live rooms anyone can join (room.js).
    games: [],
    iceServers: [],
    query: '',
    selected: '',
    liveRooms: [],

    // hello's workers (workers.js), what this page measured of them (a
    // Map by id of { ping, ms }), the ids being measured, the report last
    // sent (the test hook's latency) and its text as the current socket's
    // coordinator heard it; the worker picked by hand for the next start
    // ('' for automatic) and the zone the address asks for.
    workers: [],
    rtt: new Map(),
    measuring: [],
    reported: null,
    heard: '{}',
    pick: '',
    zone,

    // Whose saves these are, and the player's choices for new rooms.
    player,
    prefs,

    // What shows besides the screen: the side panel ({ name: 'players' |
    // 'saves', focus: opened from the keyboard, so it takes the focus }),
    // the link shown to copy by hand, the help and servers dialogs (the
    // servers' opening with the list once, for ?debug), the player code's
    // import form ({ error }), and the toast ({ text }).
    panel: null,
    shareLink: '',
    help: false,
    stats: false, // the stats overlay over the game
    servers: false,
    serversOnList: debug,
    importing: null,
    toast: null,

    // The device: a touch screen, and its pad put away for a gamepad. A
    // controller page is a gamepad for one seat of a room that a screen
    // elsewhere shows: it gets no picture or sound, and its pad shows always.
    controller,
    touch,
    padHidden: false,
    // The picture: sound blocked until a gesture, fullscreen, smooth
    // scaling, and whether a screen filter can be drawn (prefs.filter is
    // the one chosen).
    soundBlocked: false,
    fullscreen: false,
    fullscreenSupported,
    smooth,
    filterAvailable,
  };
}

/**
 * state in phase, with changes. Leaving the game puts away what belongs to
 * it (panels, the link, the help); leaving the list, its import form and
 * servers dialog. A new message clears the line under the last one.
 */
export function enter(state, phase, changes = {}) {
  const next = { ...state, ...changes, phase };
  const view = viewOf(phase);
  if (view !== 'message') next.message = null;
  if ('message' in changes) next.note = '';
  if (viewOf(state.phase) === 'player' && view !== 'player') Object.assign(next, { panel: null, shareLink: '', help: false });
  if (view !== 'list') Object.assign(next, { importing: null, servers: false });
  return next;
}

/**
 * state with the players or saves panel open (they sit in the same place:
 * one at a time), if there is one to show; focus: opened from the
 * keyboard, so it takes the focus.
 */
export function openPanel(state, name, focus) {
  const shown = name === 'players' ? !!state.session?.roomState : !!state.session;
  return shown ? { ...state, panel: { name, focus }, shareLink: '' } : state;
}

/** state with the panel name put away if open, else opened. */
export function togglePanel(state, name, focus) {
  return state.panel?.name === name ? { ...state, panel: null } : openPanel(state, name, focus);
}

/** state with a short note that goes by itself: "Link copied", a refused slot. */
export function withToast(state, text) {
  return { ...state, toast: { text } };
}

/** state with what Retry needs, learnt as the session goes. */
export function remember(state, fields) {
  return state.last ? { ...state, last: { ...state.last, ...fields } } : state;
}

/** What a new socket changes: not greeted yet, and its coordinator has heard no report. */
export function dialled(state) {
  return { ...state, hello: false, heard: '{}' };
}

/**
 * What hello changes: greeted, the backoff over, the games and ICE
 * servers it lists. The games keep their identity when they did not
 * change: hello comes again with every worker's news, and the list is
 * drawn again only when its games did.
 */
export function greeted(state, data) {
  const games = validGames(data.games);
  return {
    ...state,
    hello: true,
    attempts: 0,
    games: JSON.stringify(games) === JSON.stringify(state.games) ? state.games : games,
    iceServers: Array.isArray(data.iceServers) ? data.iceServers : [],
  };
}
