// Wiring: the store, the devices, the flows and the views, who talks to
// whom, the few page-wide shortcuts, and the read-only test hook.
// Behaviour lives in the modules; this file only connects them.

import { createStore } from './store.js';
import { Pad, Keyboard, Gamepads } from './input.js';
import { bindingsFor, keyTable, padTable } from './model/bindings.js';
import { Screen } from './screen.js';
import { ScreenFilter } from './filter.js';
import { TouchPad } from './touchpad.js';
import { loadPrefs, savePref } from './prefs.js';
import { REPORT_MS, SlackMeter } from './model/display.js';
import { InputSplit } from './model/split.js';
import { cleanNick, controllerFromPath, validListings } from './model/room.js';
import { newPlayerId, validPlayer } from './model/saves.js';
import { ownSlot, watching } from './model/session.js';
import { initialState } from './model/state.js';
import { debugFromSearch, validWorkers, zoneFromSearch } from './model/workers.js';
import { createAddress } from './flow/address.js';
import { createConnection } from './flow/connection.js';
import { createContinuing } from './flow/continuing.js';
import { createFailures } from './flow/failures.js';
import { createGame } from './flow/game.js';
import { createOptions } from './flow/options.js';
import { createPlayerCode } from './flow/playercode.js';
import { createReconnect } from './flow/reconnect.js';
import { createSaving } from './flow/saving.js';
import { createSeat } from './flow/seat.js';
import { createServers } from './flow/servers.js';
import { createStream } from './flow/stream.js';
import { createTransfers } from './flow/transfers.js';
import { mountContinue } from './view/continue.js';
import { mountGameList } from './view/gamelist.js';
import { mountHelp } from './view/help.js';
import { mountLiveRooms } from './view/liverooms.js';
import { mountOptions } from './view/options.js';
import { mountPlayerCode } from './view/playercode.js';
import { mountPlayers } from './view/players.js';
import { mountSaves } from './view/saves.js';
import { mountScreens } from './view/screens.js';
import { mountServers } from './view/servers.js';
import { mountStage } from './view/stage.js';
import { mountController } from './view/controller.js';
import { mountToast } from './view/toast.js';
import { mountTopBar } from './view/topbar.js';
import { mountStats } from './view/stats.js';

const $ = (id) => document.getElementById(id);

// "Not a touch screen" rather than "has a mouse": a kiosk or a headless
// browser has no pointer at all and still types.
const desktop = !matchMedia('(pointer: coarse)').matches;

const prefs = loadPrefs();
// Whose saves these are: made on the first visit and kept from then on.
let player = prefs.player;
if (!validPlayer(player)) {
  player = newPlayerId();
  savePref('player', player);
}

const pad = new Pad();
// Each press's way to its picture, for the stats overlay (F3).
const split = new InputSplit();
pad.timing = split;
const screen = new Screen({ player: $('player'), stage: $('stage'), video: $('video') });
const filter = new ScreenFilter({ video: $('video') });
filter.setSmooth(screen.smooth);
const touchpad = new TouchPad($('touchpad'), pad);
const store = createStore(initialState({
  prefs: { nick: cleanNick(prefs.nick), private: prefs.private, crowd: prefs.crowd, volume: prefs.volume, mute: prefs.mute, shelves: prefs.shelves, bindings: prefs.bindings, filter: prefs.filter },
  player,
  zone: zoneFromSearch(location.search),
  debug: debugFromSearch(location.search),
  touch: !desktop,
  controller: controllerFromPath(location.pathname) !== null,
  smooth: screen.smooth,
  fullscreenSupported: screen.fullscreenSupported,
  filterAvailable: filter.available,
}));

/** True while a text field has the keys: they are typing, not playing. */
function typing() {
  const a = document.activeElement;
  return a instanceof HTMLInputElement && a.type === 'text' && !a.readOnly;
}

// Keys drive the game while it plays, except when they are typing a name.
// They go to the pad and out on the input channel from the key's own
// event handler: never through the store, which would only add latency.
const keyboard = new Keyboard(pad, () => store.get().phase === 'playing' && !store.get().help && !typing());
// A gamepad button was pressed: the touch pad is in the way now.
const gamepads = new Gamepads(pad, () => store.update((st) => (st.touch && !st.padHidden ? { ...st, padHidden: true } : st)));

/** Focus lost, page hidden, help opened: nothing may stay pressed. */
function releaseInput() {
  keyboard.clear();
  touchpad.release();
  gamepads.reset();
  pad.releaseAll();
}

// The display report (model/display.js): each shown frame's wait between
// arrival and display goes into the meter, and every REPORT_MS the pad's
// channel carries the figure to the worker, which moves its frame loop's
// phase by it. A callback pending on the element outlives its streams.
const video = $('video');
if ('requestVideoFrameCallback' in video) {
  const meter = new SlackMeter();
  let reportedAt = 0;
  const onVideoFrame = (now, meta) => {
    meter.add(meta);
    split.frame(meta);
    if (now - reportedAt >= REPORT_MS) {
      const report = meter.report();
      if (report && pad.sendReport(report)) reportedAt = now;
    }
    video.requestVideoFrameCallback(onVideoFrame);
  };
  video.requestVideoFrameCallback(onVideoFrame);
}

const app = { store, pad, keyboard, gamepads, touchpad, screen };
app.connection = createConnection(app, {
  greeted: (fresh, data) => {
    app.servers.listed(validWorkers(data.workers), fresh);
    app.reconnect.greeted(fresh);
    app.game.greeted();
  },
  // The public rooms anyone can join, for the list page.
  rooms: (data) => store.update({ liveRooms: validListings(data.rooms, performance.now()) }),
  started: (data) => app.game.started(data),
  room: (data) => app.seat.received(data),
  refused: (data) => app.saving.refused(data),
  saves: (data) => app.saving.received(data),
  loaded: (data) => app.saving.loaded(data),
  was_reset: (data) => app.saving.wasReset(data),
  offer: (data) => app.stream.offer(data),
  candidate: (data) => app.stream.candidate(data),
  ended: (data) => app.failures.ended(data),
  error: (data) => app.failures.error(data),
  closed: (why) => app.reconnect.closed(why),
  outdated: () => app.failures.outdated(),
});
app.reconnect = createReconnect(app);
app.address = createAddress(app);
app.game = createGame(app);
app.failures = createFailures(app);
app.stream = createStream(app);
app.seat = createSeat(app);
app.saving = createSaving(app);
app.continuing = createContinuing(app);
app.transfers = createTransfers(app);
app.servers = createServers(app);
app.options = createOptions(app);
app.playerCode = createPlayerCode(app);

const { game, saving, transfers, continuing, options } = app;
mountScreens(store, {
  desktop,
  actions: { retry: game.retry, back: game.back, reload: () => location.reload(), cancel: game.quit },
});
mountGameList(store, { desktop, actions: { start: game.startGame, favourite: options.favourite } });
mountLiveRooms(store, { actions: { join: (id, listed) => game.joinRoom(id, { game: listed?.game }) } });
mountOptions(store, { actions: { nick: options.setNick, option: options.setOption, zone: app.address.setZone } });
mountPlayerCode(store, { actions: { take: app.playerCode.take } });
mountServers(store, { actions: { pick: app.servers.pick, remeasure: app.servers.remeasure } });
mountHelp(store, { actions: { rebind: options.rebind, resetBindings: options.resetBindings } });
const topbar = mountTopBar(store, {
  actions: {
    quit: game.quit,
    fullscreen: () => screen.toggleFullscreen(),
    smooth: () => {
      screen.smooth = !screen.smooth;
      filter.setSmooth(screen.smooth);
      store.update({ smooth: screen.smooth });
    },
    filter: options.setFilter,
    sound: options.setSound,
  },
});
mountController(store, { actions: { seat: app.seat.seat } });
mountStage(store, { desktop, touchpad, screen, actions: { unlockAudio: () => screen.unlockAudio(), dismissContinue: continuing.dismiss } });
mountPlayers(store, { actions: { seat: app.seat.seat } });
mountSaves(store, { actions: { save: saving.save, load: saving.load, reset: saving.reset, download: transfers.download, upload: transfers.upload } });
mountContinue(store, { desktop, actions: { accept: continuing.accept, dismiss: continuing.dismiss } });
mountToast(store);
mountStats(store, {
  actions: {
    stats: app.stream.stats,
    split: () => split.summary(),
    filter: () => ({ kind: filter.drawing ? filter.kind : 'off', summary: filter.times.summary() }),
  },
});

screen.setVolume(store.get().prefs.volume, store.get().prefs.mute);
store.subscribe((st, prev) => {
  if (st.phase !== prev.phase) console.debug('telecart: state', prev.phase, '→', st.phase);
  if (st.prefs.volume !== prev.prefs.volume || st.prefs.mute !== prev.prefs.mute) screen.setVolume(st.prefs.volume, st.prefs.mute);
  if (st.help && !prev.help) releaseInput();
  gamepads.paused = st.help;
  // The keys and pad buttons of the system being played, as the player set them.
  const system = st.session?.game?.system ?? 'nes';
  if (st.prefs.bindings !== prev.prefs.bindings || system !== (prev.session?.game?.system ?? 'nes')) useBindings(st);
  // The filter draws only over a game's picture (a controller page has
  // none), and is timed only while the stats overlay shows its cost:
  // timing waits for the GPU.
  const playing = st.phase === 'playing' && !st.controller;
  filter.setKind(playing && st.filterAvailable ? st.prefs.filter : 'off');
  filter.setMeasuring(playing && st.stats);
});
filter.addEventListener('unavailable', () => store.update({ filterAvailable: false }));
function useBindings(st) {
  const bindings = bindingsFor(st.prefs.bindings, st.session?.game?.system ?? 'nes');
  keyboard.setKeys(keyTable(bindings));
  gamepads.setButtons(padTable(bindings));
}
useBindings(store.get());
screen.addEventListener('frame', () => app.stream.frame());
screen.addEventListener('presented', (e) => app.stream.presented(e.detail));
screen.addEventListener('sound', (e) => store.update({ soundBlocked: e.detail }));
screen.addEventListener('fullscreen', (e) => store.update({ fullscreen: e.detail }));

// Nothing may stay pressed while the page cannot hear the key going up.
addEventListener('blur', releaseInput);
document.addEventListener('visibilitychange', () => {
  if (document.hidden) releaseInput();
});

// Shortcuts. Escape needs nothing here: the help dialog closes itself on it,
// and with no overlay open it must do nothing (no quitting by accident).
addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
  if (e.key === 'F1') {
    e.preventDefault(); // the browser's own help
    store.update({ help: true });
    return;
  }
  const st = store.get();
  if (st.phase !== 'playing' || st.help || typing()) return;
  // A spectator's keys move nothing: show where to take a controller.
  if (watching(st.session)) topbar.showBar();
  if (e.key === '?') {
    e.preventDefault();
    store.update({ help: true });
  } else if (e.code === 'KeyF' && !e.repeat) {
    e.preventDefault();
    screen.toggleFullscreen();
  } else if (e.key === 'F3') {
    e.preventDefault(); // the browser's own find
    if (!e.repeat) store.update((x) => ({ ...x, stats: !x.stats }));
  } else if (e.key === 'F2' || e.key === 'F4') {
    // RetroArch's keys for the quick slot; a held key acts once.
    e.preventDefault();
    if (e.repeat) return;
    if (e.key === 'F2') saving.quickSave();
    else saving.quickLoad();
  }
});

// The test hook: read-only views of live values, nothing else global.
// room and slot are null outside a room; the times are performance.now()
// values of the current session, null until they happen. player is the
// id saves belong to; saves the current game's, newest first ([] until
// the server lists them, and outside a game). workers is hello's list of
// game servers; latency the round trips last reported to the coordinator,
// by worker id in ms (null until a report went). seq and lastInputSentAt
// are the pad's own: input never waits for the store. filter is the
// screen filter: the one chosen, whether its canvas shows, whether WebGL
// is there, how frames go up (by planes, or whole: filter.js), and its
// cost a frame (null unless the stats overlay shows). presses are the
// last presses' way to their pictures (model/split.js).
const session = () => store.get().session;
Object.defineProperty(window, 'telecart', {
  enumerable: true,
  value: Object.freeze({
    get state() { return store.get().phase; },
    get lastInputSentAt() { return pad.lastSentAt; },
    get seq() { return pad.seq; },
    get presses() { return split.presses(); },
    get room() { return session()?.roomId ?? null; },
    get slot() { return ownSlot(session()); },
    get members() { return (session()?.roomState?.members ?? []).map((m) => ({ ...m })); },
    get connectedAt() { return session()?.connectedAt ?? null; },
    get firstFrameAt() { return session()?.firstFrameAt ?? null; },
    get player() { return store.get().player; },
    get saves() { return (session()?.saves ?? []).map((x) => ({ ...x })); },
    get workers() { return store.get().workers.map((w) => ({ ...w })); },
    get latency() { const r = store.get().reported; return r ? { ...r } : null; },
    get filter() {
      return {
        kind: store.get().prefs.filter, drawing: filter.drawing, available: filter.available,
        upload: filter.planes ? 'planes' : 'element', cost: filter.times.summary(),
      };
    },
  }),
});

game.boot();
