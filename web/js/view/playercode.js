// The player code on the home page: shown to copy out (the clipboard, or
// the code selected to copy by hand), and the form that takes another
// device's code, with the rule shown when one is refused.

import { copyText } from '../clipboard.js';
import { withToast } from '../model/state.js';

const $ = (id) => document.getElementById(id);

/** actions: take(text), the code pasted into the form. */
export function mountPlayerCode(store, { actions }) {
  const el = {
    id: $('player-id'),
    change: $('player-change'),
    form: $('player-import'),
    input: $('player-import-input'),
    error: $('player-import-error'),
  };

  $('player-copy').addEventListener('click', async () => {
    if (await copyText(store.get().player)) {
      store.update((st) => withToast(st, 'Player code copied'));
      return;
    }
    el.id.focus({ preventScroll: true });
    el.id.select();
  });
  el.change.addEventListener('click', () => store.update((st) => ({ ...st, importing: st.importing ? null : { error: '' } })));
  $('player-import-cancel').addEventListener('click', () => store.update({ importing: null }));
  el.form.addEventListener('submit', (e) => {
    e.preventDefault();
    actions.take(el.input.value);
  });
  el.input.addEventListener('input', () => {
    if (store.get().importing?.error) store.update({ importing: { error: '' } });
  });
  el.input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      store.update({ importing: null });
    }
  });

  function showError(text) {
    el.error.textContent = text;
    el.error.hidden = !text;
    if (text) {
      el.input.setAttribute('aria-invalid', 'true');
      el.input.focus({ preventScroll: true });
    } else {
      el.input.removeAttribute('aria-invalid');
    }
  }

  function render(st, prev) {
    if (st.player !== prev.player) {
      el.id.value = st.player;
      el.id.size = Math.max(16, st.player.length);
    }
    if (st.importing === prev.importing) return;
    if (st.importing && !prev.importing) {
      el.form.hidden = false;
      el.change.setAttribute('aria-expanded', 'true');
      showError('');
      el.input.focus({ preventScroll: true });
    } else if (st.importing) {
      showError(st.importing.error);
    } else if (!el.form.hidden) {
      const inside = el.form.contains(document.activeElement);
      el.form.hidden = true;
      el.input.value = '';
      showError('');
      el.change.setAttribute('aria-expanded', 'false');
      // Put away from within, the focus goes back to the button that opened it.
      if (inside && st.phase === 'list') el.change.focus({ preventScroll: true });
    }
  }

  render(store.get(), {});
  store.subscribe(render);
}
