// The help (a dialog): the keys, from the same bindings the keyboard
// handler uses, named for this keyboard's layout where the browser says.

import { KEY_BINDINGS } from '../input.js';

const $ = (id) => document.getElementById(id);

const ARROWS = { ArrowUp: '↑', ArrowDown: '↓', ArrowLeft: '←', ArrowRight: '→' };
const BUTTON_NAMES = { START: 'Start', SELECT: 'Select' };

/** The key table's rows. layout: navigator.keyboard's layout map, when given. */
function keyRows(layout) {
  const keyName = (code) => {
    if (code.startsWith('Arrow')) return ARROWS[code];
    if (code.startsWith('Shift')) return 'Shift';
    if (code === 'Enter') return 'Enter';
    return (layout?.get(code) || code.replace(/^Key/, '')).toUpperCase();
  };
  const rows = [{ keys: ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight'].map(keyName), label: 'D-pad' }];
  for (const b of KEY_BINDINGS) {
    if (!b.codes[0].startsWith('Arrow')) rows.push({ keys: [keyName(b.codes[0])], label: BUTTON_NAMES[b.button] ?? b.button });
  }
  return rows;
}

export function mountHelp(store) {
  const dialog = $('help');
  const player = $('player');

  function drawKeys(layout) {
    $('help-keys').replaceChildren(...keyRows(layout).map((r) => {
      const tr = document.createElement('tr');
      const keys = document.createElement('td');
      for (const k of r.keys) keys.append(Object.assign(document.createElement('kbd'), { textContent: k }), ' ');
      const label = document.createElement('td');
      label.textContent = r.label;
      tr.append(keys, label);
      return tr;
    }));
  }

  // Closed by its button or the backdrop, the keys go back to the game.
  const close = () => {
    store.update({ help: false });
    if (store.get().phase === 'playing') player.focus({ preventScroll: true });
  };
  $('controls-btn').addEventListener('click', () => store.update({ help: true }));
  $('help-close').addEventListener('click', close);
  dialog.addEventListener('click', (e) => {
    if (e.target === dialog) close(); // the backdrop
  });
  // Escape closes the dialog by itself.
  dialog.addEventListener('close', () => store.update({ help: false }));

  drawKeys();
  navigator.keyboard?.getLayoutMap?.()
    .then(drawKeys)
    .catch(() => {}); // not allowed here: QWERTY names it is

  function render(st) {
    if (st.help && !dialog.open) dialog.showModal();
    else if (!st.help && dialog.open) dialog.close();
  }

  render(store.get());
  store.subscribe(render);
}
