// Continue: a player who starts a game they have saves of is offered, for
// a while once its picture is up, to go on from the newest. Not a joiner:
// their room plays on from where it is. Which save, session.js decides
// from the first "saves" list.

import { CONTINUE_MS, updateSession } from '../model/session.js';

export function createContinuing(app) {
  const { store } = app;
  let timer = 0;

  /** Shows the offer, if there is one to show and the game is up. */
  function offer() {
    const { phase, session: s } = store.get();
    if (!s || phase !== 'playing' || !s.offer || s.offerShown) return;
    store.update((st) => updateSession(st, s.ref, { offerShown: true }));
    clearTimeout(timer);
    timer = setTimeout(() => end(s.ref), CONTINUE_MS);
  }

  /** Continue: the save offered, loaded. */
  function accept() {
    const s = store.get().session;
    if (!s?.offer) return;
    const { slot } = s.offer;
    end(s.ref);
    app.saving.load(slot);
  }

  /** New game, Escape, or the offer's time is up: the game goes on as it is. */
  function dismiss() {
    const s = store.get().session;
    if (s) end(s.ref);
  }

  /** The offer of session ref is over, shown or not: never again in this session. */
  function end(ref) {
    clearTimeout(timer);
    store.update((st) => updateSession(st, ref, { offer: null, offerShown: false }));
  }

  return { offer, accept, dismiss, end };
}
