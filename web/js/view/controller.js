// A controller page (/r/ROOM/pad): a phone beside the screen that shows a
// room becomes a gamepad for one of its seats. There is no picture here:
// where it would be, the page says which player it is and offers the other
// controllers; the touch pad (or a gamepad connected to the phone, or the
// keys) does the rest. The page takes the first free controller by itself
// (model/session.js).

import { SLOTS, freeSlot, holders, memberName } from '../model/room.js';

const $ = (id) => document.getElementById(id);

/** actions: seat(slot). */
export function mountController(store, { actions }) {
  const el = {
    player: $('player'),
    panel: $('controller-panel'),
    role: $('controller-role'),
    note: $('controller-note'),
    seats: $('controller-seats'),
  };

  const buttons = [];
  for (let n = 1; n <= SLOTS; n++) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn controller-seat';
    b.dataset.seat = String(n);
    b.addEventListener('click', () => actions.seat(n));
    buttons.push(b);
  }
  el.seats.append(...buttons);

  function render(st, prev) {
    el.player.classList.toggle('controller-page', st.controller);
    const s = st.session;
    const room = s?.roomState;
    el.panel.hidden = !st.controller || !room;
    if (el.panel.hidden || (room === prev.session?.roomState && s.seatPending === prev.session?.seatPending && st.padHidden === prev.padHidden)) return;
    el.role.textContent = s.slot > 0 ? `Player ${s.slot}` : 'No controller';
    el.note.textContent = note(st, room);
    buttons.forEach((b, i) => {
      const n = i + 1;
      const others = holders(room, n).filter((m) => m.id !== room.you);
      const mine = s.slot === n;
      b.textContent = `P${n}`;
      b.classList.toggle('btn-primary', mine);
      b.setAttribute('aria-pressed', String(mine));
      b.disabled = s.seatPending !== null || (!mine && others.length > 0 && !room.crowd);
      b.title = others.length ? `Player ${n}: ${others.map(memberName).join(', ')}` : `Player ${n}: free`;
    });
  }

  render(store.get(), {});
  store.subscribe(render);
}

// What the player should know: which controller is theirs, or why none is.
function note(st, room) {
  const s = st.session;
  if (s.slot === 0) {
    return freeSlot(room) > 0
      ? 'Pick a controller to play.'
      : 'Every controller is taken. Pick one when it is free.';
  }
  if (st.padHidden) return 'Your gamepad plays. Touch the screen for the on-screen pad.';
  return 'The game shows on the room’s screen. Play with the pad on this screen, or connect a gamepad.';
}
