// The help (a dialog): which key and which gamepad button press each of the
// console's buttons, for the system being played or one the player picks,
// and changing them: click a binding, then press the new key or button.
// The table is drawn from the same bindings the keyboard and gamepad
// handlers use (model/bindings.js), so the two cannot disagree.

import { BOUND_SYSTEMS, bindingsFor, buttonName, buttonsOf, isDefault, keyName, padButtonName, reservedKey } from '../model/bindings.js';
import { systemName } from '../model/systems.js';

const $ = (id) => document.getElementById(id);

export function mountHelp(store, { actions }) {
  const dialog = $('help');
  const player = $('player');
  const rows = $('help-keys');
  const picker = $('bindings-system');
  const hint = $('bindings-hint');
  const resetButton = $('bindings-reset');
  const usual = hint.textContent;
  let layout = null; // navigator.keyboard's layout map, once the browser gives it
  let system = 'nes'; // whose buttons the table shows
  let waiting = null; // { kind, button, cell, stop } while a new key or pad button is awaited

  picker.append(...BOUND_SYSTEMS.map((id) => new Option(systemName(id), id)));
  picker.addEventListener('change', () => {
    cancel();
    system = picker.value;
    draw();
  });
  resetButton.addEventListener('click', () => {
    cancel();
    actions.resetBindings(system);
  });

  function draw() {
    const st = store.get();
    const bindings = bindingsFor(st.prefs.bindings, system);
    picker.value = system;
    resetButton.disabled = isDefault(st.prefs.bindings, system);
    rows.replaceChildren(...buttonsOf(system).map((button) => {
      const tr = document.createElement('tr');
      const name = document.createElement('th');
      name.scope = 'row';
      name.textContent = buttonName(system, button);
      tr.append(name, cell('keys', button, bindings.keys[button]), cell('pad', button, bindings.pad[button]));
      return tr;
    }));
  }

  function cell(kind, button, codes = []) {
    const td = document.createElement('td');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'bind';
    b.dataset.kind = kind;
    b.dataset.button = button;
    const label = codes.length ? codes.map((c) => (kind === 'keys' ? keyName(c, layout) : padButtonName(c))) : ['none'];
    // Two keys for one button (both Shifts, both Enters) show as one.
    for (const text of new Set(label)) b.append(Object.assign(document.createElement('kbd'), { textContent: text }), ' ');
    const what = kind === 'keys' ? 'key' : 'gamepad button';
    b.setAttribute('aria-label', `${buttonName(system, button)}: ${[...new Set(label)].join(' or ')}. Change the ${what}`);
    b.addEventListener('click', () => listen(kind, button, b));
    td.append(b);
    return td;
  }

  // Awaits the next key, or the next gamepad button pressed that was not
  // held already; Escape, a click elsewhere or closing the dialog cancels.
  function listen(kind, button, b) {
    cancel();
    b.classList.add('listening');
    b.replaceChildren(kind === 'keys' ? 'Press a key…' : 'Press a gamepad button…');
    say(`Press the new ${kind === 'keys' ? 'key' : 'gamepad button'} for ${buttonName(system, button)}, or Esc to keep it.`);
    const done = (code) => {
      cancel();
      actions.rebind(system, kind, button, code);
    };
    if (kind === 'keys') {
      const onKey = (e) => {
        e.preventDefault();
        e.stopImmediatePropagation();
        if (e.code === 'Escape') return cancel();
        const why = reservedKey(e.code);
        if (why || !e.code) return say(why ? `${why}; pick another key.` : 'That key cannot be told apart; pick another.');
        done(e.code);
      };
      addEventListener('keydown', onKey, true);
      waiting = { stop: () => removeEventListener('keydown', onKey, true) };
      return;
    }
    const held = pressedPadButtons();
    let raf = 0;
    const poll = () => {
      const now = pressedPadButtons();
      const fresh = [...now].find((i) => !held.has(i));
      if (fresh !== undefined) return done(fresh);
      for (const i of held) if (!now.has(i)) held.delete(i);
      raf = requestAnimationFrame(poll);
    };
    const onKey = (e) => {
      if (e.code !== 'Escape') return;
      e.preventDefault();
      e.stopImmediatePropagation();
      cancel();
    };
    addEventListener('keydown', onKey, true);
    raf = requestAnimationFrame(poll);
    waiting = { stop: () => { cancelAnimationFrame(raf); removeEventListener('keydown', onKey, true); } };
  }

  function cancel() {
    if (!waiting) return;
    waiting.stop();
    waiting = null;
    say(usual);
    draw();
  }

  function say(text) {
    hint.textContent = text;
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
  // Escape closes the dialog by itself. Its close event comes a task or
  // more later, and a key pressed meanwhile would not reach the game, so
  // its cancel event, which comes at once, closes the help too.
  const closed = () => {
    cancel();
    store.update({ help: false });
  };
  dialog.addEventListener('cancel', closed);
  dialog.addEventListener('close', closed);

  navigator.keyboard?.getLayoutMap?.()
    .then((map) => {
      layout = map;
      draw();
    })
    .catch(() => {}); // not allowed here: QWERTY names it is

  function render(st, prev) {
    if (st.help && !dialog.open) {
      // Opened while playing: the game's own buttons.
      const playing = st.session?.game?.system;
      if (playing && BOUND_SYSTEMS.includes(playing)) system = playing;
      draw();
      dialog.showModal();
    } else if (!st.help && dialog.open) dialog.close();
    else if (st.prefs.bindings !== prev?.prefs.bindings) draw();
  }

  draw();
  render(store.get());
  store.subscribe(render);
}

/** The gamepad buttons held now, on any pad, by standard index. */
function pressedPadButtons() {
  const held = new Set();
  let pads = [];
  try {
    pads = navigator.getGamepads?.() ?? [];
  } catch {
    // blocked by a permissions policy: no pads
  }
  for (const gp of pads) {
    gp?.buttons.forEach((b, i) => {
      if (b.pressed || b.value > 0.5) held.add(i);
    });
  }
  return held;
}
