// The player's choices, kept in localStorage (prefs.js): the name others
// see, sent at once to the room this page is in, and the options new
// rooms start with.

import { savePref } from '../prefs.js';
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

  return { setNick, setOption };
}
