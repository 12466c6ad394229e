// Wiring: builds the modules, connects their events, installs the few
// page-wide shortcuts, and exposes the read-only test hook. Behaviour lives
// in the modules; this file only says who talks to whom.

import { Pad, Keyboard, Gamepads } from './input.js';
import { Screen } from './screen.js';
import { TouchPad } from './touchpad.js';
import { UI } from './ui.js';
import { Session } from './session.js';

const $ = (id) => document.getElementById(id);

const pad = new Pad();
const screen = new Screen({ player: $('player'), stage: $('stage'), video: $('video') });
const touchpad = new TouchPad($('touchpad'), pad);

// session and ui refer to each other through these callbacks; both exist
// before any callback can run (they all wait for user or network events).
let session = null;
let ui = null;

// Keys drive the game while it plays, except when they are typing a name.
const keyboard = new Keyboard(pad, () => session.state === 'playing' && !ui.helpOpen && !ui.typing);
const gamepads = new Gamepads(pad, () => session.gamepadUsed());

ui = new UI({
  start: (game) => session.startGame(game),
  join: (room) => session.joinRoom(room, { game: session.liveRooms.find((r) => r.id === room)?.game }),
  retry: () => session.retry(),
  back: () => session.back(),
  reload: () => location.reload(),
  cancel: () => session.quit(),
  quit: () => session.quit(),
  fullscreen: () => screen.toggleFullscreen(),
  smooth: () => {
    screen.smooth = !screen.smooth;
    ui.setSmooth(screen.smooth);
  },
  unlockAudio: () => screen.unlockAudio(),
  helpChanged: (open) => {
    if (open) session.releaseInput();
  },
  seat: (slot) => session.seat(slot),
  nick: (text) => session.setNick(text),
  option: (name, on) => session.setOption(name, on),
  share: () => session.share(),
  save: (slot) => session.save(slot),
  load: (slot) => session.load(slot),
  download: (slot) => session.download(slot),
  upload: (slot, file) => session.upload(slot, file),
  continueGame: () => session.continueGame(),
  dismissContinue: () => session.dismissContinue(),
  copyPlayer: () => session.copyPlayer(),
  importPlayer: (text) => session.importPlayer(text),
  pickWorker: (id) => session.pickWorker(id),
  zone: (zone) => session.setZone(zone),
  remeasure: () => session.remeasure(),
});

session = new Session({ ui, screen, pad, keyboard, gamepads, touchpad });
ui.setOptions(session.prefs);
ui.setPlayer(session.player);

screen.addEventListener('frame', () => session.onFrame());
screen.addEventListener('presented', (e) => session.onPresented(e.detail));
screen.addEventListener('sound', (e) => ui.setSoundBlocked(e.detail));
screen.addEventListener('fullscreen', (e) => ui.setFullscreen(e.detail, screen.fullscreenSupported));
ui.setFullscreen(false, screen.fullscreenSupported);
ui.setSmooth(screen.smooth);

// Nothing may stay pressed while the page cannot hear the key going up.
addEventListener('blur', () => session.releaseInput());
document.addEventListener('visibilitychange', () => {
  if (document.hidden) session.releaseInput();
});

// Shortcuts. Escape needs nothing here: the help dialog closes itself on it,
// and with no overlay open it must do nothing (no quitting by accident).
addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
  if (e.key === 'F1') {
    e.preventDefault(); // the browser's own help
    ui.openHelp();
    return;
  }
  if (session.state !== 'playing' || ui.helpOpen || ui.typing) return;
  // A spectator's keys move nothing: show where to take a controller.
  if (session.watching) ui.showBar();
  if (e.key === '?') {
    e.preventDefault();
    ui.openHelp();
  } else if (e.code === 'KeyF' && !e.repeat) {
    e.preventDefault();
    screen.toggleFullscreen();
  } else if (e.key === 'F2' || e.key === 'F4') {
    // RetroArch's keys for the quick slot; a held key acts once.
    e.preventDefault();
    if (e.repeat) return;
    if (e.key === 'F2') session.quickSave();
    else session.quickLoad();
  }
});

// The test hook: read-only views of live values, nothing else global.
// room and slot are null outside a room; the times are performance.now()
// values of the current session, null until they happen. player is the
// id saves belong to; saves the current game's, newest first ([] until
// the server lists them, and outside a game). workers is hello's list of
// game servers; latency the round trips last reported to the coordinator,
// by worker id in ms (null until a report went).
Object.defineProperty(window, 'telecart', {
  enumerable: true,
  value: Object.freeze({
    get state() { return session.state; },
    get lastInputSentAt() { return pad.lastSentAt; },
    get seq() { return pad.seq; },
    get room() { return session.current?.room ?? null; },
    get slot() { return session.slot; },
    get members() { return (session.current?.state?.members ?? []).map((m) => ({ ...m })); },
    get connectedAt() { return session.current?.connectedAt ?? null; },
    get firstFrameAt() { return session.current?.firstFrameAt ?? null; },
    get player() { return session.player; },
    get saves() { return (session.current?.saves ?? []).map((x) => ({ ...x })); },
    get workers() { return session.workers.map((w) => ({ ...w })); },
    get latency() { return session.reported ? { ...session.reported } : null; },
  }),
});

session.run();
