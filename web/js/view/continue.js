// The offer to continue, over the picture: the newest save's picture, slot
// and age, Continue and New game, and a bar that runs out with the offer.

import { saveAge, slotName } from '../model/saves.js';
import { CONTINUE_MS } from '../model/session.js';
import { announce } from './screens.js';

const $ = (id) => document.getElementById(id);

/** actions: accept(), dismiss(). */
export function mountContinue(store, { actions, desktop }) {
  const el = {
    player: $('player'),
    card: $('continue'),
    thumb: $('continue-thumb'),
    meta: $('continue-meta'),
    button: $('continue-btn'),
    timer: $('continue-timer'),
  };

  el.button.addEventListener('click', () => actions.accept());
  $('continue-new').addEventListener('click', () => actions.dismiss());

  function show(save) {
    el.thumb.hidden = !save.thumbnail;
    if (save.thumbnail) el.thumb.src = save.thumbnail;
    el.meta.textContent = `${slotName(save.slot)} · ${saveAge(save.time)}`;
    el.meta.title = new Date(save.time).toLocaleString();
    // The bar that runs out with the offer starts again from full.
    el.timer.style.animation = 'none';
    el.timer.style.setProperty('--continue-ms', `${CONTINUE_MS}ms`);
    el.card.hidden = false;
    void el.timer.offsetWidth;
    el.timer.style.animation = '';
    announce(`Continue from ${slotName(save.slot).toLowerCase()}, saved ${saveAge(save.time)}? Continue, or New game.`);
    // Enter answers the question on a keyboard; on a phone a focus ring
    // is only noise.
    if (desktop) el.button.focus({ preventScroll: true });
  }

  function hide(st) {
    if (el.card.hidden) return;
    const inside = el.card.contains(document.activeElement);
    el.card.hidden = true;
    el.thumb.removeAttribute('src');
    if (inside && st.phase === 'playing') el.player.focus({ preventScroll: true });
  }

  const offered = (st) => (st.session?.offerShown ? st.session.offer : null);

  function render(st, prev) {
    const now = offered(st);
    if (now === offered(prev)) return;
    if (now) show(now);
    else hide(st);
  }

  render(store.get(), {});
  store.subscribe(render);
}
