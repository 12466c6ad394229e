// What the app is doing, and why: the signalling connection, the one game
// session at a time, and the UI state that follows from their events. Every
// state change happens here, so the states a player can be in are all
// readable in one file.
//
// Server messages are handled strictly in arrival order through one promise
// chain: applying an offer is asynchronous, and a candidate or an "ended"
// must never overtake the message before it. The socket's closing goes
// through the same chain for the same reason.

import { Signal, Peer, PROTOCOL_VERSION } from './network.js';

const HELLO_TIMEOUT_MS = 10_000; // a socket that opens but never greets is as good as down
const START_TIMEOUT_MS = 30_000; // from "start" to a picture or an open input channel
const BACKOFF_MAX_S = 30;
const DISCONNECTED_MS = 10_000; // ICE "disconnected" this long counts as lost
const EXPLANATION_GRACE_MS = 750; // how long a lost connection waits for the server to say why

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
  for (const g of list) {
    if (!g || typeof g.id !== 'string' || !g.id || seen.has(g.id)) continue;
    seen.add(g.id);
    games.push({
      id: g.id,
      title: typeof g.title === 'string' && g.title.trim() ? g.title.trim() : g.id,
      system: typeof g.system === 'string' ? g.system : '',
    });
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
    this.iceServers = [];
    this.attempts = 0; // failed connections in a row, for the backoff
    this.retryTimer = 0;
    this.intent = null; // once connected: { game } to start it, null for the list
    this.game = null; // the last game asked for: what Retry starts again
    this.current = null; // the session in progress, see startGame
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

  /** Boots the app. */
  run() {
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
      case 'started': return this.onStarted(data);
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
    this.hello = true;
    this.attempts = 0;
    this.games = validGames(data.games);
    this.iceServers = Array.isArray(data.iceServers) ? data.iceServers : [];
    this.ui.setGames(this.games);
    if (this.state !== 'connecting' && this.state !== 'unreachable') return;
    const intent = this.intent;
    this.intent = null;
    if (intent?.game) this.startGame(this.games.find((g) => g.id === intent.game.id) ?? intent.game);
    else this.toList();
  }

  onClose() {
    clearTimeout(this.helloTimer);
    this.hello = false;
    if (this.state === 'outdated') return;
    const s = this.current;
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

  toList() {
    this.endSession();
    this.setState('list');
    this.ui.showList();
  }

  startGame(game) {
    this.game = game;
    if (!this.signal.open || !this.hello) {
      this.intent = { game };
      this.setState('connecting');
      this.ui.showConnecting();
      this.connect();
      return;
    }
    const old = this.current;
    this.endSession();
    if (old?.live) this.signal.send('quit', {});

    // live: the server may hold this session (from "start" until "ended" or
    // "error"), so leaving it must say "quit".
    const s = { game, ref: newRef(), started: null, peer: null, candidates: [], live: true, channel: null, channelOpen: false, frame: false, timer: 0, unstableTimer: 0 };
    this.current = s;
    this.signal.send('start', { game: game.id }, s.ref);
    // Made now, while the server starts the game: building a peer
    // connection takes the browser tens of milliseconds that would
    // otherwise come after the offer, on the way to the first picture.
    s.peer = this.makePeer(s);
    this.setState('loading');
    this.ui.showLoading(game, 'Finding a game server…');
    s.timer = setTimeout(() => this.lose(s, 'The game took too long to start.'), START_TIMEOUT_MS);
  }

  /** Quit (top bar) and Cancel (loading): back to the list. */
  quit() {
    const s = this.current;
    this.endSession(); // sends the all-released pad first
    if (s?.live) this.signal.send('quit', {});
    if (this.signal.open && this.hello) this.toList();
    else this.back();
  }

  retry() {
    if (this.state === 'outdated') location.reload();
    else if (this.state === 'unreachable') {
      this.ui.setNote('Connecting…');
      this.connect();
    } else if (this.game) this.startGame(this.game);
    else this.back();
  }

  back() {
    if (this.signal.open && this.hello) {
      this.toList();
      return;
    }
    this.intent = null;
    this.setState('connecting');
    this.ui.showConnecting();
    this.connect();
  }

  // ---- the game session ----

  onStarted(data) {
    const s = this.current;
    if (!s) {
      console.info('telecart: ignoring "started" outside a session');
      return undefined;
    }
    if (data.game?.id && data.game.id !== s.game.id) {
      // Left over from a session quit a moment ago.
      console.info('telecart: ignoring "started" for', data.game.id, 'while starting', s.game.id);
      return undefined;
    }
    if (s.started) this.resetPeer(s); // a second "started": negotiation begins again
    s.started = data;
    s.game = {
      id: s.game.id,
      title: typeof data.game?.title === 'string' && data.game.title ? data.game.title : s.game.title,
      system: typeof data.game?.system === 'string' && data.game.system ? data.game.system : s.game.system,
    };
    const aspect = Number(data.aspect) > 0 ? Number(data.aspect) : Number(data.width) / Number(data.height);
    this.screen.setAspect(aspect);
    this.touchpad.setSystem(s.game.system);
    this.ui.setLoadingStep('Connecting to the game…');
    return undefined;
  }

  onOffer(data) {
    const s = this.current;
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
    this.pad.detach();
    this.screen.detach();
  }

  onPeerState(s, state) {
    if (this.current !== s) return;
    clearTimeout(s.unstableTimer);
    if (state === 'connected') this.ui.setUnstable(false);
    else if (state === 'disconnected') {
      // ICE may still recover; the browser would wait some 30 s more before
      // "failed", far longer than anyone watches a frozen game.
      this.ui.setUnstable(this.state === 'playing');
      s.unstableTimer = setTimeout(() => this.lose(s, 'The connection to the game was interrupted.'), DISCONNECTED_MS);
    } else if (state === 'failed' || state === 'closed') this.lose(s, 'The connection to the game was interrupted.');
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
    this.ui.setWaiting(!s.frame);
    document.title = s.game.title;
    this.gamepads.start();
    this.updateTouchPad();
  }

  /** A gamepad button was pressed: the touch pad is in the way now. */
  gamepadUsed() {
    if (!this.touch || this.padHidden) return;
    this.padHidden = true;
    this.updateTouchPad();
  }

  updateTouchPad() {
    const show = this.state === 'playing' && this.touch && !this.padHidden;
    if (this.touchpad.visible !== show) this.touchpad.visible = show;
    this.ui.setTouch(show);
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
      if (live) this.signal.send('quit', {}); // free the server's seat at once
      this.setState('lost');
      this.ui.showMessage('lost', { text });
    }, EXPLANATION_GRACE_MS);
  }

  fail(s, kind, opts) {
    if (this.current !== s) return;
    const live = s.live;
    this.endSession();
    if (live) this.signal.send('quit', {});
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
    // One refused message (a candidate, say) does not end a running game.
    if (code === 'bad_request' && this.state === 'playing') return;
    s.live = false;
    this.endSession();
    if (code === 'no_worker') {
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
      s.peer?.close();
    }
    this.screen.detach();
    this.screen.exitFullscreen();
    this.ui.setTouch(false);
    this.ui.setWaiting(true);
    this.ui.setUnstable(false);
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
