// Saves and loads: the player's four slots and the autosave, through the
// signalling socket. One save and one load may be on their way at a time;
// the server answers a save with a fresh "saves" list, a load with
// "loaded" to everyone in the room, and either with "refused". Loading
// changes the game for everyone, so it needs a controller.

import { QUICK_SLOT, loadable, savable, slotName } from '../model/saves.js';
import { loadedNotice, refusalAnswers, resetNotice, savesReceived, updateSession, watching } from '../model/session.js';
import { withToast } from '../model/state.js';

const SAVE_TIMEOUT_MS = 20_000; // a save or load unanswered this long is given up on

export function createSaving(app) {
  const { store } = app;
  let saveTimer = 0;
  let loadTimer = 0;

  const toast = (text) => store.update((st) => withToast(st, text));

  /** "saves": the player's saves of this game, when it starts for this page and after each save. */
  function received(data) {
    const s = store.get().session;
    if (!s) return;
    const next = savesReceived(s, data);
    if (s.saving !== null && next.saving === null) clearTimeout(saveTimer);
    store.update((st) => {
      const updated = updateSession(st, s.ref, next);
      return savable(data.saved) ? withToast(updated, `Saved to slot ${data.saved}`) : updated;
    });
    app.continuing.offer();
  }

  /** "loaded": someone in the room (this page too) loaded a save; the game jumped. */
  function loaded(data) {
    const s = store.get().session;
    if (!s) return;
    const { mine, text } = loadedNotice(s, data);
    if (mine) loadAnswered(s.ref);
    // The game is not the one Continue was offered over any more.
    app.continuing.end(s.ref);
    toast(text);
  }

  /** "was_reset": someone in the room (this page too) restarted the game. */
  function wasReset(data) {
    const s = store.get().session;
    if (!s) return;
    app.continuing.end(s.ref);
    toast(resetNotice(s, data));
  }

  /** Restarts the room's game for everyone, as the console's reset button does. */
  function reset() {
    const s = store.get().session;
    if (!s?.live || !s.started) return;
    if (watching(s)) {
      toast('Take a controller to restart the game: spectators can’t');
      return;
    }
    app.connection.send('reset', {}, s.ref);
  }

  /** "refused": a request turned down (a slot someone took first, a save that failed); the game goes on. */
  function refused(data) {
    const s = store.get().session;
    if (!s) return;
    const message = typeof data.message === 'string' && data.message.trim() ? data.message.trim() : 'That was not possible.';
    console.info('telecart: refused', data.code, message);
    const which = refusalAnswers(s, data.code);
    if (which === 'save') saveAnswered(s.ref);
    else if (which === 'load') loadAnswered(s.ref);
    else app.seat.answered(s.ref);
    toast(message);
  }

  /** Saves the game into slot 1-4 of this player's saves. */
  function save(slot) {
    const s = store.get().session;
    if (!s?.live || !s.started || !savable(slot)) return;
    if (s.saving !== null) {
      toast('Still saving…');
      return;
    }
    if (!app.connection.send('save', { slot }, s.ref)) return;
    store.update((st) => updateSession(st, s.ref, { saving: slot, savingSince: performance.now() }));
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      const now = store.get().session;
      if (now?.ref !== s.ref || now.saving === null) return;
      saveAnswered(s.ref);
      toast(`Slot ${slot} did not answer: it may not have been saved`);
    }, SAVE_TIMEOUT_MS);
  }

  /** Loads one of this player's saves (0 the autosave) into the room, for everyone. */
  function load(slot) {
    const s = store.get().session;
    if (!s?.live || !s.started || !loadable(slot)) return;
    if (watching(s)) {
      // The server would refuse it too; saying why here saves the round trip.
      toast('Take a controller to load a save: spectators can’t');
      return;
    }
    if (s.loading !== null) {
      toast('Still loading…');
      return;
    }
    // A slot this page lists as empty still goes to the server: the list
    // may be older than a save made on another device, and the server's
    // answer ("nothing saved", "another game's") is the one to show.
    if (!app.connection.send('load', { slot }, s.ref)) return;
    store.update((st) => updateSession(st, s.ref, { loading: slot, loadingSince: performance.now() }));
    clearTimeout(loadTimer);
    loadTimer = setTimeout(() => {
      const now = store.get().session;
      if (now?.ref !== s.ref || now.loading === null) return;
      loadAnswered(s.ref);
      toast(`${slotName(slot)} did not load in time`);
    }, SAVE_TIMEOUT_MS);
  }

  function saveAnswered(ref) {
    clearTimeout(saveTimer);
    store.update((st) => updateSession(st, ref, { saving: null }));
  }

  function loadAnswered(ref) {
    clearTimeout(loadTimer);
    store.update((st) => updateSession(st, ref, { loading: null }));
  }

  return {
    received,
    loaded,
    wasReset,
    reset,
    refused,
    save,
    load,
    // The quick slot's hotkeys: F2 saves, F4 loads.
    quickSave: () => save(QUICK_SLOT),
    quickLoad: () => load(QUICK_SLOT),
  };
}
