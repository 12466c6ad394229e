// The live rooms on the home page: the public rooms anyone can join, with
// their game, players, spectators and how long they have run; one click
// (or Enter) joins.

import { systemName } from '../model/systems.js';
import { countsLabel, formatAge } from '../model/room.js';
import { gameTile } from './gamelist.js';

const $ = (id) => document.getElementById(id);
const AGE_REFRESH_MS = 30_000; // "3 min" needs no finer steps

function joinLabel(r, now) {
  return `Join ${r.game.title}, ${systemName(r.game.system)}: ${countsLabel(r)}, running ${formatAge(r, now)}`;
}

/** listed: the game as the list has it, whose picture may be newer than the room's listing. */
function roomButton(r, listed) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'live-room';
  b.dataset.room = r.id;
  b.dataset.system = r.game.system;
  const art = gameTile(listed ?? r.game);
  const text = document.createElement('span');
  text.className = 'game-text';
  const title = document.createElement('span');
  title.className = 'game-title';
  title.textContent = r.game.title;
  const meta = document.createElement('span');
  meta.className = 'live-meta';
  const sys = document.createElement('span');
  sys.className = 'badge';
  sys.textContent = systemName(r.game.system);
  const who = document.createElement('span');
  who.className = 'live-who';
  who.textContent = countsLabel(r);
  const age = document.createElement('span');
  age.className = 'live-age';
  age.textContent = formatAge(r);
  const stats = document.createElement('span');
  stats.className = 'live-stats';
  stats.append(who, age);
  meta.append(sys, stats);
  if (r.crowd) {
    const crowd = document.createElement('span');
    crowd.className = 'flag';
    crowd.textContent = 'Crowdplay';
    meta.append(crowd);
  }
  text.append(title, meta);
  const join = document.createElement('span');
  join.className = 'game-play';
  join.setAttribute('aria-hidden', 'true');
  join.textContent = 'Join';
  b.append(art, text, join);
  b.setAttribute('aria-label', joinLabel(r));
  const li = document.createElement('li');
  li.append(b);
  return li;
}

/** actions: join(room), with the room as listed. */
export function mountLiveRooms(store, { actions }) {
  const el = { live: $('live'), list: $('live-rooms'), count: $('live-count') };
  let ageTimer = 0;

  // Buttons: Enter and Space join as well as a click does.
  el.list.addEventListener('click', (e) => {
    const b = e.target.closest('[data-room]');
    const room = b && store.get().liveRooms.find((r) => r.id === b.dataset.room);
    if (b) actions.join(b.dataset.room, room);
  });

  function draw(rooms, games) {
    const focused = document.activeElement?.closest?.('#live-rooms [data-room]')?.dataset.room;
    el.live.hidden = rooms.length === 0;
    el.count.textContent = rooms.length === 1 ? '1 room' : `${rooms.length} rooms`;
    const byID = new Map(games.map((g) => [g.id, g]));
    el.list.replaceChildren(...rooms.map((r) => roomButton(r, byID.get(r.game.id))));
    if (focused) el.list.querySelector(`[data-room="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  }

  /** Ages count up while the list shows; only their text changes, so focus stays put. */
  function scheduleAges() {
    clearTimeout(ageTimer);
    const st = store.get();
    if (st.phase !== 'list' || st.liveRooms.length === 0) return;
    ageTimer = setTimeout(() => {
      const now = performance.now();
      const { liveRooms } = store.get();
      for (const b of el.list.querySelectorAll('[data-room]')) {
        const r = liveRooms.find((x) => x.id === b.dataset.room);
        if (!r) continue;
        b.querySelector('.live-age').textContent = formatAge(r, now);
        b.setAttribute('aria-label', joinLabel(r, now));
      }
      scheduleAges();
    }, AGE_REFRESH_MS);
  }

  function render(st, prev) {
    if (st.liveRooms !== prev.liveRooms || st.games !== prev.games) draw(st.liveRooms, st.games);
    if (st.liveRooms !== prev.liveRooms || (st.phase === 'list') !== (prev.phase === 'list')) scheduleAges();
  }

  render(store.get(), {});
  store.subscribe(render);
}
