// What the app is doing, and why: the signalling connection, the one game
// session at a time, and the UI state that follows from their events. Every
// state change happens here, so the states a player can be in are all
// readable in one file.
//
// Every game runs in a room. A session either starts a new room (the
// starter holds player slot 1) or joins a running one by its id (watching,
// until a slot is taken); after that both go the same way. The address bar
// follows: /r/ROOM while in a room, so the link can be shared and reopened,
// and / on the game list; the browser's Back and Forward move between them.
//
// Both carry the player id, made on the first visit: the server lists that
// player's saves of the game once it runs, and whoever starts a game they
// have saves of is offered to continue from the newest.
//
// A new room goes to a worker the coordinator picks: the nearest with room.
// Nearest is what this page measured: hello lists the workers with a ping
// URL each, and the page reports its best round trip to each of them. A
// start may also ask for a zone (from the address, ?zone=eu, which the app
// keeps as it moves) or a worker picked by hand in the servers panel.
//
// Server messages are handled strictly in arrival order through one promise
// chain: applying an offer is asynchronous, and a candidate or an "ended"
// must never overtake the message before it. The socket's closing goes
// through the same chain for the same reason.

import { Signal, Peer, PROTOCOL_VERSION } from './network.js';
import { measure } from './latency.js';
import {
  cleanNick, copyText, holders, me, memberName, roomFromPath, roomLink, roomPath, validGame, validListings, validRoomState,
} from './room.js';
import { loadPrefs, prefKey, savePref } from './prefs.js';
import {
  QUICK_SLOT, cleanPlayer, loadable, newPlayerId, savable, saveFileName, saveMoment, slotName, validPlayer, validSave, validSaves,
} from './saves.js';
import { SaveFiles } from './savefiles.js';
import {
  debugFromSearch, reportable, searchWithZone, validWorkers, zoneFromSearch, zonesOf,
} from './workers.js';

const HELLO_TIMEOUT_MS = 10_000; // a socket that opens but never greets is as good as down
const START_TIMEOUT_MS = 30_000; // from "start" to a picture or an open input channel
const BACKOFF_MAX_S = 30;
const DISCONNECTED_MS = 10_000; // ICE "disconnected" this long counts as lost
const RESUME_GIVE_UP_MS = 60_000; // a game whose server is away this long is lost
const EXPLANATION_GRACE_MS = 750; // how long a lost connection waits for the server to say why
const SEAT_TIMEOUT_MS = 5000; // a seat request unanswered this long frees its buttons again
const SAVE_TIMEOUT_MS = 20_000; // a save or load unanswered this long is given up on
const CONTINUE_MS = 20_000; // how long Continue is offered over a game just started

// Refusals of a save or a load; any other refusal answers a seat request.
const SAVE_REFUSALS = new Set(['no_player', 'not_playing', 'no_save', 'bad_save', 'save_failed']);

/** UI states, as window.telecart.state reports them. */
export const STATES = Object.freeze([
  'connecting', 'list', 'loading', 'playing',
  'unreachable', 'lost', 'busy', 'failed', 'ended', 'outdated',
]);

/** A fresh reference for a game session, unguessable enough to never repeat. */
function newRef() {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}

/** hello's games, keeping only entries that can be shown and started. */
function validGames(list) {
  if (!Array.isArray(list)) return [];
  const seen = new Set();
  const games = [];
  for (const g of list.map(validGame)) {
    if (!g || seen.has(g.id)) continue;
    seen.add(g.id);
    games.push(g);
  }
  return games;
}

export class Session {
  constructor({ ui, screen, pad, keyboard, gamepads, touchpad }) {
    Object.assign(this, { ui, screen, pad, keyboard, gamepads, touchpad });
    this.state = 'connecting';
    this.signal = new Signal('/ws');
    this.gen = 0; // socket generation: messages of a replaced socket are dropped
    this.hello = false; // hello seen on the current socket
    this.helloTimer = 0;
    this.games = [];
    this.gamesKey = ''; // the list as last drawn: hello comes again with every worker's change
    this.iceServers = [];
    // The workers hello lists, and what this page measured of them: by id,
    // { ping, ms } with the best round trip to that ping URL, null when it
    // went unanswered. reported is the map last sent (for the test hook),
    // reportedKey and reportedOn its text and the socket it went on: a new
    // socket's coordinator has heard nothing yet.
    this.workers = [];
    this.rtt = new Map();
    this.measuring = new Set(); // ids of workers being measured
    this.reported = null;
    this.reportedKey = '';
    this.reportedOn = 0;
    this.pick = ''; // a worker picked by hand for the next start, '' for automatic
    this.debug = debugFromSearch(location.search); // ?debug: the servers panel opens with the list
    this.attempts = 0; // failed connections in a row, for the backoff
    this.retryTimer = 0;
    this.intent = null; // once connected: { game } to start it, { room } to join it, null for the list
    // What Retry goes back to: { kind: 'start' | 'join', game, room, slot },
    // filled in as the server tells more (the room's id, the game, the slot).
    this.last = null;
    this.current = null; // the session in progress, see newSession
    this.prefs = loadPrefs();
    this.prefs.nick = cleanNick(this.prefs.nick);
    // Whose saves these are: made on the first visit and kept from then on.
    this.player = this.prefs.player;
    if (!validPlayer(this.player)) {
      this.player = newPlayerId();
      savePref('player', this.player);
    }
    this.liveRooms = [];
    this.awaitingPop = false; // our own history.back() is on its way
    this.queue = Promise.resolve();
    this.touch = matchMedia('(pointer: coarse)').matches;
    this.padHidden = false; // the touch pad, put away because a gamepad is in use

    this.signal.addEventListener('open', () => {
      const gen = this.gen;
      clearTimeout(this.helloTimer);
      this.helloTimer = setTimeout(() => {
        if (gen !== this.gen || this.hello) return;
        console.warn('telecart: no hello from the server');
        this.signal.close();
        this.enqueue(gen, () => this.onClose());
      }, HELLO_TIMEOUT_MS);
    });
    this.signal.addEventListener('message', (e) => {
      const msg = e.detail;
      this.enqueue(this.gen, () => this.handle(msg));
    });
    this.signal.addEventListener('close', () => this.enqueue(this.gen, () => this.onClose()));

    // Back and Forward: the address says where to be.
    addEventListener('popstate', () => this.enqueue(this.gen, () => this.onNavigate()));

    // A code imported in another tab is this page's too from its next game on.
    addEventListener('storage', (e) => {
      if (e.key !== prefKey('player') || !validPlayer(e.newValue) || e.newValue === this.player) return;
      this.player = e.newValue;
      this.ui.setPlayer(this.player);
    });

    addEventListener('touchstart', () => {
      this.padHidden = false;
      if (!this.touch) console.info('telecart: touch screen seen, showing the touch pad');
      this.touch = true;
      this.updateTouchPad();
    }, { passive: true, capture: true });
  }

  setState(state) {
    if (this.state !== state) console.debug('telecart: state', this.state, '→', state);
    this.state = state;
  }

  enqueue(gen, fn) {
    this.queue = this.queue
      .then(() => (gen === this.gen ? fn() : undefined))
      .catch((err) => console.error('telecart: handling a server message failed', err));
  }

  // ---- the signalling connection ----

  /** Boots the app: the game list, or the room the address names. */
  run() {
    const room = roomFromPath(location.pathname);
    if (room) this.intent = { room };
    else if (location.pathname !== '/') history.replaceState(null, '', `/${location.search}`); // not an address of ours
    this.setState('connecting');
    this.ui.showConnecting();
    this.connect();
  }

  connect() {
    clearTimeout(this.retryTimer);
    clearTimeout(this.helloTimer);
    this.gen++;
    this.hello = false;
    this.signal.connect();
  }

  handle(msg) {
    if (msg.v !== PROTOCOL_VERSION) {
      console.warn('telecart: server speaks protocol version', msg.v, 'this page speaks', PROTOCOL_VERSION);
      this.outdated();
      return undefined;
    }
    // The server names each game's messages with the reference this page
    // gave in "start": anything for another one is left over from a game
    // just quit, and must not touch the new one.
    if (msg.session && msg.session !== this.current?.ref) {
      console.info('telecart: ignoring', msg.type, 'of a session that is over');
      return undefined;
    }
    const data = msg.data && typeof msg.data === 'object' ? msg.data : {};
    switch (msg.type) {
      case 'hello': return this.onHello(data);
      case 'rooms': return this.onRooms(data);
      case 'started': return this.onStarted(data);
      case 'room': return this.onRoom(data);
      case 'refused': return this.onRefused(data);
      case 'saves': return this.onSaves(data);
      case 'loaded': return this.onLoaded(data);
      case 'offer': return this.onOffer(data);
      case 'candidate': return this.onCandidate(data);
      case 'ended': return this.onEnded(data);
      case 'error': return this.onError(data);
      default:
        console.info('telecart: ignoring a message of unknown type', msg.type, msg);
        return undefined;
    }
  }

  onHello(data) {
    clearTimeout(this.helloTimer);
    const fresh = !this.hello; // the first on this socket, rather than news of a worker
    this.hello = true;
    this.attempts = 0;
    this.games = validGames(data.games);
    this.iceServers = Array.isArray(data.iceServers) ? data.iceServers : [];
    // Redrawn only when it changed: a room opening anywhere sends hello again.
    const key = JSON.stringify(this.games);
    if (key !== this.gamesKey) {
      this.gamesKey = key;
      this.ui.setGames(this.games);
    }
    this.setWorkers(validWorkers(data.workers), fresh);
    const s = this.current;
    if (fresh && s?.resuming) {
      s.resuming = null;
      s.resumeSent = true;
      this.signal.send('resume', { room: s.room, token: s.resumeToken }, s.ref);
    }
    if (this.state !== 'connecting' && this.state !== 'unreachable') return;
    const intent = this.intent;
    this.intent = null;
    if (intent?.room) this.joinRoom(intent.room, intent.opts);
    else if (intent?.game) this.startGame(this.games.find((g) => g.id === intent.game.id) ?? intent.game);
    else this.toList();
  }

  /** The public rooms anyone can join, for the list page. */
  onRooms(data) {
    this.liveRooms = validListings(data.rooms, performance.now());
    this.ui.setLiveRooms(this.liveRooms);
  }

  onClose() {
    clearTimeout(this.helloTimer);
    this.hello = false;
    // Stale from now on; the next hello brings the list again.
    this.liveRooms = [];
    this.ui.setLiveRooms([]);
    if (this.state === 'outdated') return;
    const s = this.current;
    if (s?.resumeToken && s.room && this.state === 'playing' && s.peer?.pc.connectionState === 'connected') {
      // The game does not pass through the server: it plays on, input
      // and all, while the signalling finds its way back and resumes.
      if (!s.resuming) {
        console.info('telecart: signalling lost; the game goes on while it reconnects');
        s.resuming = { attempt: 0, since: performance.now() };
        this.ui.setReconnecting(true);
      }
      this.resumeLater(s);
      return;
    }
    if (s) {
      // One session per socket: the server ends it with the socket.
      s.live = false;
      this.endSession();
      this.setState('lost');
      this.ui.showMessage('lost', { text: 'The connection to the server was interrupted.' });
      return;
    }
    if (this.state === 'connecting' || this.state === 'list' || this.state === 'unreachable') {
      if (this.state !== 'unreachable') {
        this.setState('unreachable');
        this.ui.showMessage('unreachable');
      }
      this.scheduleReconnect();
    }
    // On any other failure screen the user chooses: Retry and Back reconnect.
  }

  /**
   * Dials the server again for a session whose game goes on, after 0.5,
   * 1, 2 … 8 s; past RESUME_GIVE_UP_MS the session is lost after all.
   */
  resumeLater(s) {
    if (performance.now() - s.resuming.since > RESUME_GIVE_UP_MS) {
      this.ui.setReconnecting(false);
      s.resuming = null;
      this.lose(s, 'The connection to the server was interrupted.');
      return;
    }
    const delay = Math.min(8000, 500 * 2 ** s.resuming.attempt++);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.current === s && s.resuming) this.connect();
    }, delay);
  }

  /** Reconnects after 1, 2, 4 … 30 s, counting down on the message. */
  scheduleReconnect() {
    const delay = Math.min(BACKOFF_MAX_S, 2 ** this.attempts);
    this.attempts++;
    const due = performance.now() + delay * 1000;
    const tick = () => {
      const left = Math.ceil((due - performance.now()) / 1000);
      if (left <= 0) {
        this.ui.setNote('Connecting…');
        this.connect();
        return;
      }
      this.ui.setNote(`Trying again in ${left} s…`);
      this.retryTimer = setTimeout(tick, Math.min(1000, due - performance.now() - (left - 1) * 1000));
    };
    tick();
  }

  outdated() {
    this.endSession();
    clearTimeout(this.retryTimer);
    this.signal.close();
    this.gen++;
    this.setState('outdated');
    this.ui.showMessage('outdated');
  }

  // ---- user actions ----

  get ready() {
    return this.signal.open && this.hello;
  }

  toList() {
    this.endSession();
    this.leaveUrl();
    this.setState('list');
    this.ui.showList();
    if (this.debug) {
      this.debug = false; // once: the player closes it from then on
      this.ui.openServers();
    }
  }

  /** Not connected yet: do it once the server has said hello. */
  later(intent) {
    this.intent = intent;
    this.setState('connecting');
    this.ui.showConnecting();
    this.connect();
  }

  /** Starts game in a new room, with the options the player chose. */
  startGame(game) {
    this.last = { kind: 'start', game, room: null, slot: 1 };
    if (!this.ready) {
      this.later({ game });
      return;
    }
    const s = this.newSession('start', game);
    const data = { game: game.id, player: this.player };
    if (this.prefs.private) data.private = true;
    if (this.prefs.crowd) data.crowd = true;
    if (s.nickSent) data.nick = s.nickSent;
    // Sent at once, measured or not: without a latency report the
    // coordinator picks by load, and nobody waits for a slow ping.
    const zone = zoneFromSearch(location.search);
    if (zone) data.zone = zone;
    if (this.pick) data.worker = s.worker = this.pick;
    this.signal.send('start', data, s.ref);
    this.began(s, 'Finding a game server…');
  }

  /**
   * Joins a running room by its id, watching at first. opts: game (when
   * known, for the loading screen), slot (a slot to ask for at once: the
   * one held before the connection was lost).
   */
  joinRoom(room, opts = {}) {
    this.last = { kind: 'join', game: opts.game ?? null, room, slot: opts.slot ?? 0 };
    if (!this.ready) {
      this.later({ room, opts });
      return;
    }
    const s = this.newSession('join', opts.game ?? null);
    s.room = room;
    s.slot = 0;
    s.wantSlot = opts.slot > 0 ? opts.slot : 0;
    this.enterUrl(room);
    const data = { room, player: this.player };
    if (s.nickSent) data.nick = s.nickSent;
    this.signal.send('join', data, s.ref);
    this.began(s, 'Connecting to the room…');
  }

  /** Leaves whatever runs and makes the session for a start or a join. */
  newSession(kind, game) {
    const old = this.current;
    this.endSession();
    if (old?.live) this.signal.send('quit', {}, old.ref);
    // live: the server may hold this session (from "start" or "join" until
    // "ended" or "error"), so leaving it must say "quit". room: the room's
    // id once known; state: its newest room state; slot: this page's own
    // (the starter holds 1, a joiner watches) until a room state says.
    // saves: the player's saves of the game, newest first, null until the
    // server lists them; resume: the newest of the first list, offered as
    // Continue to a starter (null: nothing to offer, undefined: not known
    // yet); saving and loading: the slot of a request on its way, or null.
    // files: the save files' channel of the peer connection, transferring
    // the one on its way ({ kind: 'download' | 'upload', slot }) or null.
    // worker: the one picked by hand for a start, '' when the coordinator chose.
    const s = {
      kind, game, ref: newRef(), worker: '', room: null, state: null, slot: kind === 'start' ? 1 : 0, wantSlot: 0,
      seatPending: null, seatTimer: 0, nickSent: this.prefs.nick,
      saves: null, resume: undefined, resumeTimer: 0,
      saving: null, savingSince: 0, saveTimer: 0, loading: null, loadingSince: 0, loadTimer: 0,
      files: new SaveFiles(), transferring: null,
      started: null, peer: null, candidates: [], live: true, channel: null, channelOpen: false, frame: false,
      timer: 0, unstableTimer: 0, connectedAt: null, firstFrameAt: null,
    };
    this.current = s;
    return s;
  }

  /** The request is out: wait for the game, with a peer connection ready. */
  began(s, step) {
    // Made now, while the server starts the game: building a peer
    // connection takes the browser tens of milliseconds that would
    // otherwise come after the offer, on the way to the first picture.
    s.peer = this.makePeer(s);
    this.setState('loading');
    this.ui.showLoading(s.game, step, s.kind === 'join');
    s.timer = setTimeout(() => this.lose(s, 'The game took too long to start.'), START_TIMEOUT_MS);
  }

  /** Quit (top bar) and Cancel (loading): leave the room, back to the list. */
  quit() {
    const s = this.current;
    this.endSession(); // sends the all-released pad first
    if (s?.live) this.signal.send('quit', {}, s.ref);
    if (this.ready) this.toList();
    else this.back();
  }

  retry() {
    const last = this.last;
    if (this.state === 'outdated') location.reload();
    else if (this.state === 'unreachable') {
      this.ui.setNote('Connecting…');
      this.connect();
    } else if (!last) this.back();
    // The room is over: the same game, in a new room.
    else if (this.state === 'ended' && last.game) this.startGame(last.game);
    // The room may well live on without us: back in, on the same slot.
    else if (last.room && (this.state === 'lost' || last.kind === 'join')) this.joinRoom(last.room, { game: last.game, slot: last.slot });
    else if (last.game) this.startGame(last.game);
    else this.back();
  }

  back() {
    if (this.ready) {
      this.toList();
      return;
    }
    this.intent = null;
    this.leaveUrl();
    this.setState('connecting');
    this.ui.showConnecting();
    this.connect();
  }

  /** Takes player slot 1-4, or gives the slot up with 0. */
  seat(slot) {
    const s = this.current;
    if (!s?.live || !s.state || slot === s.slot || s.seatPending !== null) return;
    this.signal.send('seat', { slot }, s.ref);
    s.seatPending = slot;
    this.ui.setSeatPending(true);
    s.seatTimer = setTimeout(() => this.seatAnswered(s), SEAT_TIMEOUT_MS);
  }

  seatAnswered(s) {
    clearTimeout(s.seatTimer);
    s.seatPending = null;
    if (this.current === s) this.ui.setSeatPending(false);
  }

  /** The name others see: remembered, and sent at once when in a room. */
  setNick(text) {
    const nick = cleanNick(text);
    this.prefs.nick = nick;
    savePref('nick', nick);
    this.ui.setNick(nick);
    const s = this.current;
    if (s?.live && s.nickSent !== nick && this.signal.send('nick', { nick }, s.ref)) s.nickSent = nick;
  }

  /** A room option for the next start: private or crowd. */
  setOption(name, on) {
    if (name !== 'private' && name !== 'crowd') return;
    this.prefs[name] = !!on;
    savePref(name, !!on);
  }

  /** Copies the room's link, or shows it to copy by hand. */
  async share() {
    const s = this.current;
    if (!s?.room) return;
    const link = roomLink(s.room);
    if (await copyText(link)) this.ui.toast('Link copied');
    else if (this.current === s) this.ui.showShareLink(link);
  }

  // ---- workers: measured, reported, picked ----

  /**
   * hello's workers. The new ones (all of them on a new socket, whose
   * coordinator knows nothing of this page) are measured; a hello that only
   * says a worker's rooms changed measures nothing.
   */
  setWorkers(workers, fresh) {
    const known = new Set(this.workers.map((w) => `${w.id} ${w.ping}`));
    const arrived = workers.some((w) => w.ping && !known.has(`${w.id} ${w.ping}`));
    this.workers = workers;
    for (const id of this.rtt.keys()) {
      if (!workers.some((w) => w.id === id)) this.rtt.delete(id);
    }
    if (this.pick && !workers.some((w) => w.id === this.pick)) {
      this.ui.toast(`Server “${this.pick}” has gone: new games start on the fastest again`);
      this.pick = '';
    }
    // What was measured before still beats nothing while it is measured again.
    if (fresh) this.report();
    if (fresh || arrived) this.measureWorkers(fresh);
    this.drawWorkers();
  }

  /**
   * Measures the workers not measured yet or out of reach last time (every
   * one with all), each once at a time and all in parallel, then reports.
   * A start does not wait for this.
   */
  measureWorkers(all = false) {
    const batch = this.workers.filter((w) => {
      if (!w.ping || this.measuring.has(w.id)) return false;
      const had = this.rtt.get(w.id);
      return all || had?.ping !== w.ping || had.ms === null;
    });
    if (batch.length === 0) return;
    for (const w of batch) this.measuring.add(w.id);
    Promise.all(batch.map(async (w) => {
      const ms = reportable(await measure(w.ping));
      this.measuring.delete(w.id);
      // It may have gone, or come back with another URL, meanwhile.
      if (this.workers.some((x) => x.id === w.id && x.ping === w.ping)) this.rtt.set(w.id, { ping: w.ping, ms });
      this.drawWorkers();
    })).then(() => this.report());
  }

  /** "Measure again" in the servers panel. */
  remeasure() {
    this.measureWorkers(true);
    this.drawWorkers();
  }

  /**
   * Tells the coordinator the round trips measured to the workers it
   * listed, when they differ from what it heard last. Workers out of reach
   * are left out: unmeasured, they come after every measured one.
   */
  report() {
    if (!this.ready) return; // the next hello brings it here again
    const rtt = {};
    for (const w of this.workers) {
      const m = this.rtt.get(w.id);
      if (m && m.ping === w.ping && m.ms !== null) rtt[w.id] = m.ms;
    }
    const key = JSON.stringify(rtt);
    const heard = this.reportedOn === this.gen ? this.reportedKey : '{}';
    if (key === heard || !this.signal.send('latency', { rtt })) return;
    this.reported = rtt;
    this.reportedKey = key;
    this.reportedOn = this.gen;
  }

  /** A worker picked by hand in the servers panel for the next start, or '' for automatic. */
  pickWorker(id) {
    this.pick = this.workers.some((w) => w.id === id) ? id : '';
    this.drawWorkers();
  }

  /** A zone chosen on the list: it goes into the address, where a zone is kept. */
  setZone(zone) {
    const search = searchWithZone(location.search, zone);
    if (search !== location.search) history.replaceState(history.state, '', location.pathname + search);
    this.drawZones();
  }

  /** The servers panel, as the page knows the workers. */
  drawWorkers() {
    this.ui.setWorkers({
      workers: this.workers.map((w) => {
        const m = this.rtt.get(w.id);
        return { ...w, measuring: this.measuring.has(w.id), rtt: m && m.ping === w.ping ? m.ms : undefined };
      }),
      pick: this.pick,
      zone: zoneFromSearch(location.search),
    });
    this.drawZones();
  }

  drawZones() {
    this.ui.setZones(zonesOf(this.workers), zoneFromSearch(location.search));
  }

  // ---- the address bar ----

  /**
   * In a room: its address, added after the list's or in place of a dead
   * room's. The query (?zone=, ?debug) goes along, here and back.
   */
  enterUrl(id) {
    const path = roomPath(id);
    const overList = !!history.state?.overList;
    if (location.pathname === path || roomFromPath(location.pathname)) history.replaceState({ room: id, overList }, '', path + location.search);
    else history.pushState({ room: id, overList: true }, '', path + location.search);
  }

  /** On the list: back to its entry when the room's was added after it, else a new one. */
  leaveUrl() {
    if (location.pathname === '/') return;
    if (history.state?.overList) {
      this.awaitingPop = true;
      history.back();
    } else {
      history.pushState(null, '', `/${location.search}`);
    }
  }

  /** Back or Forward: join the room the address names, or leave for the list. */
  onNavigate() {
    this.drawZones(); // the entry's own query may name another zone
    if (this.awaitingPop) {
      this.awaitingPop = false;
      if (location.pathname === '/') return; // where toList already is
    }
    if (this.state === 'outdated') return;
    const room = roomFromPath(location.pathname);
    if (room) {
      if (this.current?.room === room) return;
      this.joinRoom(room);
    } else if (this.state !== 'list') {
      if (this.state === 'connecting' || this.state === 'unreachable') this.intent = null;
      this.quit();
    }
  }

  // ---- the game session ----

  onStarted(data) {
    const s = this.current;
    console.debug('telecart: the game runs in room', data.room);
    if (!s) {
      console.info('telecart: ignoring "started" outside a session');
      return undefined;
    }
    if (s.kind === 'start' && data.game?.id && data.game.id !== s.game.id) {
      // Left over from a session quit a moment ago.
      console.info('telecart: ignoring "started" for', data.game.id, 'while starting', s.game.id);
      return undefined;
    }
    if (s.started) this.resetPeer(s); // a second "started": negotiation begins again
    s.started = data;
    // The secret that carries this session on over a new socket.
    s.resumeToken = typeof data.resume === 'string' && data.resume ? data.resume : null;
    const game = validGame(data.game);
    s.game = {
      id: game?.id ?? s.game?.id ?? '',
      title: game?.title ?? s.game?.title ?? 'Game',
      system: game?.system || s.game?.system || '',
    };
    this.remember({ game: s.game });
    if (typeof data.room === 'string' && data.room) this.inRoom(s, data.room);
    const aspect = Number(data.aspect) > 0 ? Number(data.aspect) : Number(data.width) / Number(data.height);
    this.screen.setAspect(aspect);
    this.touchpad.setSystem(s.game.system);
    this.ui.setLoadingStep('Connecting to the game…');
    // The input channel, and even the first picture, may have come while
    // this message waited in the queue behind the offer's answer: they
    // do not wait in it.
    this.maybePlaying(s);
    return undefined;
  }

  /** What Retry needs, learnt as the session goes. */
  remember(fields) {
    if (this.last) Object.assign(this.last, fields);
  }

  /** The room's id is known: the address bar shows it. */
  inRoom(s, id) {
    if (s.room === id && roomFromPath(location.pathname) === id) return;
    s.room = id;
    this.remember({ room: id });
    this.enterUrl(id);
  }

  /** Who is in the room, after every change. */
  onRoom(data) {
    const s = this.current;
    if (!s) return;
    if (s.resumeSent) {
      s.resumeSent = false;
      this.ui.setReconnecting(false);
      console.info('telecart: session resumed');
    }
    const state = validRoomState(data);
    if (!state) {
      console.warn('telecart: ignoring a room state that cannot be shown', data);
      return;
    }
    // States can overtake each other on the way: only a newer one counts.
    if (s.state && state.id === s.state.id && state.rev <= s.state.rev) return;
    const first = !s.state;
    const before = s.slot;
    s.state = state;
    this.inRoom(s, state.id);
    if (!s.game && state.game) {
      s.game = state.game;
      this.remember({ game: state.game });
    }
    s.slot = me(state)?.slot ?? 0;
    this.remember({ slot: s.slot });
    if (s.seatPending !== null && s.slot === s.seatPending) this.seatAnswered(s);
    this.ui.setRoom(state, s.slot);
    if (before !== s.slot) this.drawSaves(s);
    if (!first && before !== s.slot) this.ui.toast(s.slot > 0 ? `You are player ${s.slot}` : 'You are watching');
    this.updateTouchPad();
    // Back after a lost connection: ask for the slot held before, if free.
    const want = s.wantSlot;
    if (want > 0 && s.slot === 0) {
      s.wantSlot = 0;
      if (state.crowd || holders(state, want).length === 0) this.seat(want);
    }
  }

  /** A request was turned down (a slot someone took first, a save that failed); the game goes on. */
  onRefused(data) {
    const s = this.current;
    if (!s) return;
    const message = typeof data.message === 'string' && data.message.trim() ? data.message.trim() : 'That was not possible.';
    console.info('telecart: refused', data.code, message);
    if (SAVE_REFUSALS.has(data.code)) {
      // Refusals carry no request id: one answers the oldest of a save and
      // a load, and the server handles a session's requests in order.
      if (s.saving !== null && (s.loading === null || s.savingSince <= s.loadingSince)) this.saveAnswered(s);
      else this.loadAnswered(s);
    } else {
      this.seatAnswered(s);
    }
    this.ui.toast(message);
  }

  // ---- saves ----

  /** The player's saves of this game: when it starts for this page, and after each save. */
  onSaves(data) {
    const s = this.current;
    if (!s) return;
    s.saves = validSaves(data.saves);
    if (s.resume === undefined) {
      // Only the first list counts: a save made since is not a game to continue.
      s.resume = s.kind === 'start' ? (s.saves[0] ?? null) : null;
    }
    const saved = data.saved;
    if (savable(saved)) {
      if (s.saving === saved) this.saveAnswered(s);
      this.ui.toast(`Saved to slot ${saved}`);
    }
    this.drawSaves(s);
    this.offerContinue(s);
  }

  /** Someone in the room (this page too) loaded a save: the game jumped. */
  onLoaded(data) {
    const s = this.current;
    if (!s) return;
    const save = validSave(data.save);
    const by = typeof data.by === 'string' ? data.by : '';
    const mine = !!s.state && by === s.state.you;
    if (mine) this.loadAnswered(s);
    // The game is not the one Continue was offered over any more.
    this.endContinue(s);
    const what = save ? `the save of ${saveMoment(save.time)}` : 'a save';
    if (mine) {
      this.ui.toast(`Loaded ${what}`);
      return;
    }
    const member = s.state?.members.find((m) => m.id === by);
    this.ui.toast(`${member ? memberName(member) : 'Someone'} loaded ${what}`);
  }

  /** Saves the game into slot 1-4 of this player's saves. */
  save(slot) {
    const s = this.current;
    if (!s?.live || !s.started || !savable(slot)) return;
    if (s.saving !== null) {
      this.ui.toast('Still saving…');
      return;
    }
    if (!this.signal.send('save', { slot }, s.ref)) return;
    s.saving = slot;
    s.savingSince = performance.now();
    s.saveTimer = setTimeout(() => {
      if (s.saving === null) return;
      this.saveAnswered(s);
      if (this.current === s) this.ui.toast(`Slot ${slot} did not answer: it may not have been saved`);
    }, SAVE_TIMEOUT_MS);
    this.drawSaves(s);
  }

  /** Loads one of this player's saves (0 the autosave) into the room, for everyone. */
  load(slot) {
    const s = this.current;
    if (!s?.live || !s.started || !loadable(slot)) return;
    if (this.watching) {
      // The server would refuse it too; saying why here saves the round trip.
      this.ui.toast('Take a controller to load a save: spectators can’t');
      return;
    }
    if (s.loading !== null) {
      this.ui.toast('Still loading…');
      return;
    }
    // A slot this page lists as empty still goes to the server: the list
    // may be older than a save made on another device, and the server's
    // answer ("nothing saved", "another game's") is the one to show.
    if (!this.signal.send('load', { slot }, s.ref)) return;
    s.loading = slot;
    s.loadingSince = performance.now();
    s.loadTimer = setTimeout(() => {
      if (s.loading === null) return;
      this.loadAnswered(s);
      if (this.current === s) this.ui.toast(`${slotName(slot)} did not load in time`);
    }, SAVE_TIMEOUT_MS);
    this.drawSaves(s);
  }

  saveAnswered(s) {
    clearTimeout(s.saveTimer);
    s.saving = null;
    this.drawSaves(s);
  }

  loadAnswered(s) {
    clearTimeout(s.loadTimer);
    s.loading = null;
    this.drawSaves(s);
  }

  /** Downloads the save in slot 0-4 as a file on this device. */
  async download(slot) {
    const s = this.current;
    if (!s?.live || !s.started || !loadable(slot)) return;
    const done = await this.transfer(s, 'download', slot, () => s.files.download(slot));
    if (!done) return;
    this.ui.saveFile(done.value, saveFileName(s.game?.title, slot));
    this.ui.toast(slot === 0 ? 'Downloaded the autosave.' : `Downloaded slot ${slot}.`);
  }

  /** Uploads a save file into slot 1-4; the server sends the new list of saves. */
  async upload(slot, file) {
    const s = this.current;
    if (!s?.live || !s.started || !savable(slot) || !(file instanceof Blob)) return;
    if (await this.transfer(s, 'upload', slot, () => s.files.upload(slot, file))) this.ui.toast(`Uploaded into slot ${slot}.`);
  }

  /**
   * Runs one save file's transfer with its row showing it. Resolves to
   * { value } when it went through and the session is still this one,
   * else null, a failure told in a toast.
   */
  async transfer(s, kind, slot, run) {
    // A second transfer is refused by SaveFiles: it must leave the row of
    // the one on its way as it is.
    const mine = !s.files.busy;
    if (mine) {
      s.transferring = { kind, slot };
      this.drawSaves(s);
    }
    try {
      const value = await run();
      return this.current === s ? { value } : null;
    } catch (err) {
      if (this.current === s) this.ui.toast(err?.message || String(err));
      return null;
    } finally {
      if (mine) {
        s.transferring = null;
        this.drawSaves(s);
      }
    }
  }

  /** The saves panel, as this session stands. */
  drawSaves(s) {
    if (this.current !== s) return;
    this.ui.setSaves({
      saves: s.saves, watching: this.watching, saving: s.saving, loading: s.loading, transferring: s.transferring,
    });
  }

  /**
   * Continue from the newest save, offered for a while to a player who
   * starts a game they have saves of, once its picture is up: not to
   * joiners, whose room plays on from where it is.
   */
  offerContinue(s) {
    if (this.current !== s || this.state !== 'playing' || !s.resume || s.resumeTimer) return;
    s.resumeTimer = setTimeout(() => this.endContinue(s), CONTINUE_MS);
    this.ui.showContinue(s.resume, CONTINUE_MS);
  }

  /** Continue: the save offered, loaded. */
  continueGame() {
    const s = this.current;
    if (!s?.resume) return;
    const slot = s.resume.slot;
    this.endContinue(s);
    this.load(slot);
  }

  /** New game, Escape, or the offer's time is up: the game goes on as it is. */
  dismissContinue() {
    const s = this.current;
    if (s) this.endContinue(s);
  }

  endContinue(s) {
    clearTimeout(s.resumeTimer);
    const shown = s.resume && s.resumeTimer;
    s.resume = null;
    if (shown && this.current === s) this.ui.hideContinue();
  }

  /** The quick slot's hotkeys: F2 saves, F4 loads. */
  quickSave() {
    this.save(QUICK_SLOT);
  }

  quickLoad() {
    this.load(QUICK_SLOT);
  }

  /** Copies the player code, or selects it to copy by hand. */
  async copyPlayer() {
    if (await copyText(this.player)) this.ui.toast('Player code copied');
    else this.ui.selectPlayer();
  }

  /**
   * Takes the player code of another device: its saves are this page's
   * from the next game on. A code the server would refuse is refused here,
   * with the rule, and changes nothing.
   */
  importPlayer(text) {
    const id = cleanPlayer(text);
    if (!id) {
      this.ui.setImportError('Paste the player code from your other device.');
      return;
    }
    if (!validPlayer(id)) {
      this.ui.setImportError('That is not a player code: it has 16 to 64 letters, digits, “-” or “_”.');
      return;
    }
    this.ui.closeImport();
    if (id === this.player) {
      this.ui.toast('That is already your player code');
      return;
    }
    this.player = id;
    savePref('player', id);
    this.ui.setPlayer(id);
    this.ui.toast('Player code changed: its saves are yours here now');
  }

  /** Own slot (0 watching), or null outside a room. */
  get slot() {
    const s = this.current;
    return s?.room ? s.slot : null;
  }

  /** A spectator: keys and touches move nothing, so the pad gives way to a hint. */
  get watching() {
    const s = this.current;
    return !!s && (s.kind === 'join' || s.state !== null) && s.slot === 0;
  }

  onOffer(data) {
    const s = this.current;
    console.debug('telecart: offer');
    if (!s) {
      console.info('telecart: ignoring an offer outside a session');
      return undefined;
    }
    if (typeof data.sdp !== 'string' || !data.sdp) {
      console.warn('telecart: ignoring an offer without SDP');
      return undefined;
    }
    // Answered at once, even before "started": the server negotiates while
    // the game boots, so neither waits for the other.
    return this.applyOffer(s, data.sdp);
  }

  onCandidate(data) {
    const s = this.current;
    if (!s) return undefined;
    if (!s.peer) {
      s.candidates.push(data);
      return undefined;
    }
    return s.peer.addCandidate(data);
  }

  async applyOffer(s, sdp) {
    if (!s.peer) s.peer = this.makePeer(s);
    const peer = s.peer;
    const early = s.candidates;
    s.candidates = [];
    for (const c of early) await peer.addCandidate(c); // kept by the peer until the offer is in
    let answer;
    try {
      answer = await peer.answer(sdp);
    } catch (err) {
      if (this.current !== s || s.peer !== peer) return;
      console.error('telecart: the offer could not be answered', err);
      this.fail(s, 'failed', {
        text: 'This browser could not accept the game’s stream.',
        detail: err?.message || String(err),
      });
      return;
    }
    if (this.current !== s || s.peer !== peer) return;
    this.signal.send('answer', { sdp: answer }, s.ref);
  }

  makePeer(s) {
    return new Peer(this.iceServers, {
      onTrack: (e) => {
        if (this.current === s) this.screen.addTrack(e.track);
      },
      onInputChannel: (ch) => {
        if (this.current !== s) return;
        s.channel = ch;
        this.pad.attach(ch);
        const open = () => {
          s.channelOpen = true;
          this.maybePlaying(s);
        };
        if (ch.readyState === 'open') open();
        else ch.addEventListener('open', open);
        // The server closing its side closes the channel at once, long
        // before ICE would notice the silence.
        ch.addEventListener('close', () => {
          if (s.channel === ch && s.channelOpen) this.lose(s, 'The connection to the game was interrupted.');
        });
      },
      // Save files to and from this device: see savefiles.js.
      onSavesChannel: (ch) => {
        if (this.current === s) s.files.attach(ch);
      },
      onState: (state) => this.onPeerState(s, state),
      onCandidate: (c) => {
        if (this.current === s) this.signal.send('candidate', c, s.ref);
      },
    });
  }

  resetPeer(s) {
    clearTimeout(s.unstableTimer);
    s.peer?.close();
    s.peer = null;
    s.channel = null;
    s.candidates = [];
    s.channelOpen = false;
    s.frame = false;
    s.files.detach();
    this.pad.detach();
    this.screen.detach();
  }

  onPeerState(s, state) {
    if (this.current !== s) return;
    console.debug('telecart: connection', state);
    if (state === 'connected' && s.connectedAt === null) s.connectedAt = performance.now();
    clearTimeout(s.unstableTimer);
    if (state === 'connected') this.ui.setUnstable(false);
    else if (state === 'disconnected') {
      // ICE may still recover; the browser would wait some 30 s more before
      // "failed", far longer than anyone watches a frozen game.
      this.ui.setUnstable(this.state === 'playing');
      s.unstableTimer = setTimeout(() => this.lose(s, 'The connection to the game was interrupted.'), DISCONNECTED_MS);
    } else if (state === 'failed' || state === 'closed') this.lose(s, 'The connection to the game was interrupted.');
  }

  /** When the first picture was presented, for the test hook. */
  onPresented(at) {
    const s = this.current;
    if (s && s.firstFrameAt === null) s.firstFrameAt = at;
  }

  /** The screen's first picture. */
  onFrame() {
    const s = this.current;
    if (!s) return;
    s.frame = true;
    this.ui.setWaiting(false);
    this.maybePlaying(s);
  }

  /** Playing once the game runs and either its picture or its input channel is there. */
  maybePlaying(s) {
    if (this.current !== s || !s.started || this.state === 'playing') return;
    if (!s.channelOpen && !s.frame) return;
    clearTimeout(s.timer);
    this.setState('playing');
    this.ui.showPlayer(s.game);
    this.ui.setRoom(s.state, s.state ? s.slot : null);
    this.ui.setWaiting(!s.frame);
    document.title = s.game.title;
    this.gamepads.start();
    this.updateTouchPad();
    this.drawSaves(s);
    this.offerContinue(s);
  }

  /** A gamepad button was pressed: the touch pad is in the way now. */
  gamepadUsed() {
    if (!this.touch || this.padHidden) return;
    this.padHidden = true;
    this.updateTouchPad();
  }

  updateTouchPad() {
    const playing = this.state === 'playing';
    const watching = playing && this.watching;
    const show = playing && this.touch && !this.padHidden && !watching;
    if (this.touchpad.visible !== show) this.touchpad.visible = show;
    this.ui.setTouch(show);
    this.ui.setWatching(watching);
  }

  /**
   * The connection to the game is gone: say so, offer Retry. When the
   * server ends a game it says why on the socket, but the peer connection's
   * close travels another path and may arrive first: the explanation gets
   * a moment to come and take precedence ("ended", "failed").
   */
  lose(s, text) {
    if (this.current !== s || s.losing) return;
    s.losing = setTimeout(() => {
      if (this.current !== s) return; // explained, or the player moved on
      const live = s.live;
      this.endSession();
      if (live) this.signal.send('quit', {}, s.ref); // free the server's seat at once
      this.setState('lost');
      this.ui.showMessage('lost', { text });
    }, EXPLANATION_GRACE_MS);
  }

  fail(s, kind, opts) {
    if (this.current !== s) return;
    const live = s.live;
    this.endSession();
    if (live) this.signal.send('quit', {}, s.ref);
    this.setState(kind);
    this.ui.showMessage(kind, opts);
  }

  onEnded(data) {
    const s = this.current;
    if (!s) {
      console.info('telecart: ignoring "ended" outside a session', data);
      return;
    }
    s.live = false;
    this.endSession();
    this.setState('ended');
    const reason = typeof data.reason === 'string' ? data.reason.trim() : '';
    this.ui.showMessage('ended', { text: 'Start it again, or pick another game.', detail: reason });
  }

  onError(data) {
    const code = typeof data.code === 'string' ? data.code : 'internal';
    const message = typeof data.message === 'string' ? data.message.trim() : '';
    // Shown to the user below; the console only keeps the server's words.
    console.info('telecart: server error', code, message);
    const s = this.current;
    if (!s) return; // nothing of ours was waiting for it
    if (code === 'no_session' && s.resumeSent) {
      // The worker let the session go meanwhile: join the room anew.
      const { room, game, slot } = s;
      s.live = false;
      this.endSession();
      this.joinRoom(room, { game, slot });
      return;
    }
    // One refused message (a candidate, say) does not end a running game.
    if (code === 'bad_request' && this.state === 'playing') return;
    s.live = false;
    this.endSession();
    if (code === 'room_ended') {
      // A link to a room that is over: offer its game afresh, when known.
      const game = validGame(data.game) ?? (s.game?.id ? s.game : null);
      this.last = game ? { kind: 'start', game, room: null, slot: 1 } : null;
      this.setState('ended');
      this.ui.showMessage('room-ended', game ? { retryLabel: `Play ${game.title}` } : { retry: false });
    } else if (code === 'no_worker' && s.worker) {
      // Picked by hand: the others may well have room.
      this.setState('busy');
      this.ui.showMessage('busy', {
        title: 'This server can’t take the game',
        text: `Server “${s.worker}”, picked in Servers, has no room for it now. Pick another server, or Automatic.`,
        detail: message,
      });
    } else if (code === 'no_worker') {
      this.setState('busy');
      this.ui.showMessage('busy');
    } else if (code === 'game_failed') {
      this.setState('failed');
      this.ui.showMessage('failed', { detail: message });
    } else if (code === 'unknown_game') {
      this.setState('failed');
      this.ui.showMessage('failed', {
        title: 'This game is not available',
        text: 'The server no longer has this game. Pick another one.',
        retry: false,
      });
    } else {
      this.setState('failed');
      this.ui.showMessage('failed', {
        title: 'Something went wrong',
        text: 'The server could not run the game.',
        detail: message || `Error: ${code}`,
      });
    }
  }

  /** Tears the current session down on this side; the caller tells the server if needed. */
  endSession() {
    const s = this.current;
    this.current = null;
    // Release first, while the channel may still be open to carry it.
    this.keyboard.clear();
    this.touchpad.visible = false;
    this.gamepads.stop();
    this.pad.releaseAll();
    this.pad.detach();
    if (s) {
      clearTimeout(s.timer);
      clearTimeout(s.unstableTimer);
      clearTimeout(s.resumeTimer);
      clearTimeout(s.saveTimer);
      clearTimeout(s.loadTimer);
      s.peer?.close();
      s.files.detach();
    }
    this.screen.detach();
    this.screen.exitFullscreen();
    if (s) this.seatAnswered(s);
    this.ui.setRoom(null);
    this.ui.setSaves(null);
    this.ui.hideContinue();
    this.ui.setTouch(false);
    this.ui.setWatching(false);
    this.ui.setWaiting(true);
    this.ui.setUnstable(false);
    this.ui.setReconnecting(false);
    document.title = 'Telecart';
  }

  /** Focus lost, page hidden, overlay opened: nothing may stay pressed. */
  releaseInput() {
    this.keyboard.clear();
    this.touchpad.release();
    this.gamepads.reset();
    this.pad.releaseAll();
  }
}
