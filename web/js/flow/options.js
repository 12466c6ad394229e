// The player's choices, kept in localStorage (prefs.js): the name others
// see, sent at once to the room this page is in, the options new rooms
// start with, the sound, the screen filter, the game list's favourites
// and recent games, and which keys and gamepad buttons press which button.

import { saveBindings, savePref, saveShelves } from '../prefs.js';
import { bind, unbindAll } from '../model/bindings.js';
import { parseFilter } from '../model/filter.js';
import { withFavourite, withPlayed } from '../model/games.js';
import { cleanNick } from '../model/room.js';
import { updateSession } from '../model/session.js';

export function createOptions(app) {
  const { store } = app;

  /** The name others see: remembered, and sent at once when in a room. */
  function setNick(text) {
    const nick = cleanNick(text);
    savePref('nick', nick);
    // A new prefs object even for the same name: the fields show it cleaned.
    store.update((st) => ({ ...st, prefs: { ...st.prefs, nick } }));
    const s = store.get().session;
    if (s?.live && s.nickSent !== nick && app.connection.send('nick', { nick }, s.ref)) {
      store.update((st) => updateSession(st, s.ref, { nickSent: nick }));
    }
  }

  /** A room option for the next start: private or crowd. */
  function setOption(name, on) {
    if (name !== 'private' && name !== 'crowd') return;
    savePref(name, !!on);
    store.update((st) => ({ ...st, prefs: { ...st.prefs, [name]: !!on } }));
  }

  /** The game's sound: volume 0 to 1, and mute, kept for the next game too. */
  function setSound({ volume, mute }) {
    const prefs = { ...store.get().prefs };
    if (volume !== undefined) prefs.volume = Math.min(1, Math.max(0, Number(volume) || 0));
    if (mute !== undefined) prefs.mute = !!mute;
    savePref('volume', prefs.volume);
    savePref('mute', prefs.mute);
    store.update((st) => ({ ...st, prefs }));
  }

  /** The screen filter, "off", "crt" or "lcd", kept for every game. */
  function setFilter(kind) {
    const filter = parseFilter(kind);
    savePref('filter', filter);
    store.update((st) => ({ ...st, prefs: { ...st.prefs, filter } }));
  }

  /** The list's shelves: a game marked a favourite or not, or just played. */
  function setShelves(change) {
    const shelves = change(store.get().prefs.shelves);
    saveShelves(shelves);
    store.update((st) => ({ ...st, prefs: { ...st.prefs, shelves } }));
  }
  const favourite = (id, on) => setShelves((sh) => withFavourite(sh, id, on));
  const played = (id) => setShelves((sh) => withPlayed(sh, id));

  /** A key (kind 'keys') or gamepad button ('pad') to press `button` on the system's games. */
  function rebind(system, kind, button, code) {
    setBindings(bind(store.get().prefs.bindings, system, kind, button, code));
  }
  const resetBindings = (system) => setBindings(unbindAll(store.get().prefs.bindings, system));
  function setBindings(bindings) {
    saveBindings(bindings);
    store.update((st) => ({ ...st, prefs: { ...st.prefs, bindings } }));
  }

  return { setNick, setOption, setSound, setFilter, favourite, played, rebind, resetBindings };
}
