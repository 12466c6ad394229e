// The player code: the id saves belong to, without accounts. Made on the
// first visit (main.js), carried to another device by pasting it there,
// and taken up by every tab of this browser from its next game on.

import { prefKey, savePref } from '../prefs.js';
import { cleanPlayer, validPlayer } from '../model/saves.js';
import { withToast } from '../model/state.js';

export function createPlayerCode(app) {
  const { store } = app;

  // A code imported in another tab is this page's too from its next game on.
  addEventListener('storage', (e) => {
    if (e.key !== prefKey('player') || !validPlayer(e.newValue) || e.newValue === store.get().player) return;
    store.update({ player: e.newValue });
  });

  /**
   * Takes the player code of another device: its saves are this page's
   * from the next game on. A code the server would refuse is refused here,
   * with the rule, and changes nothing.
   */
  function take(text) {
    const id = cleanPlayer(text);
    const error = !id ? 'Paste the player code from your other device.'
      : !validPlayer(id) ? 'That is not a player code: it has 16 to 64 letters, digits, “-” or “_”.' : '';
    if (error) {
      store.update({ importing: { error } });
      return;
    }
    if (id === store.get().player) {
      store.update((st) => withToast({ ...st, importing: null }, 'That is already your player code'));
      return;
    }
    savePref('player', id);
    store.update((st) => withToast({ ...st, importing: null, player: id }, 'Player code changed: its saves are yours here now'));
  }

  return { take };
}
