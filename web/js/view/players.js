// The players panel: the room's four controllers and who holds each, the
// spectators, the room's flags, and the buttons to take, switch, join or
// give up a controller. A side panel (a bottom sheet on phones), one panel
// at a time with the saves panel.

import { SLOTS, holders, me, memberName, slotNames } from '../model/room.js';

const $ = (id) => document.getElementById(id);

function slotRow(state, n, mySlot, pending) {
  const here = holders(state, n);
  const isMine = mySlot === n;
  const li = document.createElement('li');
  li.className = 'slot';
  li.dataset.slot = String(n);
  li.dataset.state = isMine ? 'mine' : here.length ? 'taken' : 'free';
  const num = document.createElement('span');
  num.className = 'slot-num';
  num.textContent = `P${n}`;
  const who = document.createElement('span');
  who.className = 'slot-who';
  const names = document.createElement('span');
  names.className = 'slot-names';
  names.textContent = here.length ? slotNames(here, n) : 'Free';
  who.append(names);
  // Played from a controller page: the screen's owner knows which phone is whose.
  if (here.some((m) => m.controller)) {
    who.append(Object.assign(document.createElement('span'), { className: 'phone-tag', textContent: 'Phone' }));
  }
  if (isMine) {
    const you = document.createElement('span');
    you.className = 'you-tag';
    you.textContent = 'You';
    who.append(you);
  }
  li.append(num, who);
  // Free slots can be taken; in crowdplay any slot can be shared.
  let action = null;
  if (isMine) action = { seat: 0, text: 'Give up', label: `Give up player ${n} and watch` };
  else if (here.length === 0 || state.crowd) {
    const verb = here.length ? 'Join' : mySlot > 0 ? 'Switch' : 'Take';
    action = { seat: n, text: verb, label: `${verb}: play as player ${n}` };
  }
  if (action) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = `btn btn-small${action.seat ? ' btn-primary' : ''}`;
    b.dataset.seat = String(action.seat);
    b.textContent = action.text;
    b.setAttribute('aria-label', action.label);
    b.disabled = pending;
    li.append(b);
  }
  return li;
}

function watcherItem(m, you) {
  const li = document.createElement('li');
  li.textContent = memberName(m);
  if (m.id === you) {
    li.classList.add('is-you');
    li.append(Object.assign(document.createElement('span'), { className: 'you-tag', textContent: 'You' }));
  }
  return li;
}

/** actions: seat(slot). */
export function mountPlayers(store, { actions }) {
  const el = {
    player: $('player'),
    panel: $('room-panel'),
    close: $('room-panel-close'),
    flags: $('room-flags'),
    crowdNote: $('crowd-note'),
    slots: $('slots'),
    watchCount: $('watch-count'),
    watchers: $('watchers'),
  };

  el.close.addEventListener('click', () => store.update({ panel: null }));
  el.slots.addEventListener('click', (e) => {
    const b = e.target.closest('[data-seat]');
    if (b && !b.disabled) actions.seat(Number(b.dataset.seat));
  });

  function draw(state, pending) {
    const mySlot = me(state)?.slot ?? 0;
    const focusedSeat = document.activeElement?.closest?.('#slots [data-seat]')?.dataset.seat;
    el.flags.replaceChildren(...[state.private && 'Private', state.crowd && 'Crowdplay'].filter(Boolean).map((f) => {
      const span = document.createElement('span');
      span.className = 'flag';
      span.textContent = f;
      return span;
    }));
    el.crowdNote.hidden = !state.crowd;
    const rows = [];
    for (let n = 1; n <= SLOTS; n++) rows.push(slotRow(state, n, mySlot, pending));
    el.slots.replaceChildren(...rows);
    const watching = holders(state, 0);
    el.watchCount.textContent = String(watching.length);
    if (watching.length === 0) {
      el.watchers.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'Nobody' }));
    } else {
      el.watchers.replaceChildren(...watching.map((m) => watcherItem(m, state.you)));
    }
    if (focusedSeat !== undefined) {
      const again = el.slots.querySelector('[data-seat]');
      (el.slots.querySelector(`[data-seat="${focusedSeat}"]`) ?? again ?? el.close)?.focus({ preventScroll: true });
    }
  }

  function open(focus) {
    el.panel.hidden = false;
    // Keyboard users land in the panel; a mouse click leaves keys to the game.
    if (focus) (el.slots.querySelector('[data-seat]') ?? el.close).focus({ preventScroll: true });
    else el.player.focus({ preventScroll: true });
  }

  function close(st) {
    if (el.panel.hidden) return;
    const inside = el.panel.contains(document.activeElement);
    el.panel.hidden = true;
    if (inside && st.phase === 'playing' && !st.panel) el.player.focus({ preventScroll: true });
  }

  function render(st, prev) {
    const s = st.session;
    const room = s?.roomState ?? null;
    const pending = s ? s.seatPending !== null : false;
    if (room && room !== prev.session?.roomState) draw(room, pending);
    else if (room && pending !== (prev.session ? prev.session.seatPending !== null : false)) {
      // A seat request is on its way: its buttons wait for the answer.
      for (const b of el.slots.querySelectorAll('[data-seat]')) b.disabled = pending;
    }
    if (st.panel !== prev.panel) {
      if (st.panel?.name === 'players') open(st.panel.focus);
      else close(st);
    }
  }

  render(store.get(), {});
  store.subscribe(render);
}
