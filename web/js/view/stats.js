// The stats overlay: what the stream does now (frames, bitrate, loss,
// round trip, jitter buffer) and what the screen filter costs a frame,
// over the game, while the player asks for it (F3, or Show stats in the
// help). It reads the peer connection's stats once a second, and not at
// all while hidden.

import { filterLine } from '../model/filter.js';
import { statsLines, streamStats } from '../model/stats.js';

const $ = (id) => document.getElementById(id);
const STATS_MS = 1000;

/**
 * actions: stats(), the peer connection's getStats entries; split(), the
 * presses' way to their pictures (model/split.js); filter(), the filter
 * drawing ({ kind, summary }: model/filter.js's FrameTimes).
 */
export function mountStats(store, { actions }) {
  const el = { box: $('stats'), lines: $('stats-lines'), toggle: $('stats-toggle') };
  // The help's button, for a player without F3 (a phone): back to the game with it.
  el.toggle.addEventListener('click', () => store.update((st) => ({ ...st, stats: !st.stats, help: false })));
  let timer = 0;
  let prev = null;
  let reading = 0; // which showing a read belongs to: one hidden since is dropped

  async function read(showing) {
    const report = await actions.stats();
    if (showing !== reading) return;
    draw(streamStats(prev, report), actions.split());
    prev = report;
    timer = setTimeout(() => read(showing), STATS_MS);
  }

  function draw(s, split) {
    const { kind, summary } = actions.filter();
    const line = filterLine(kind, summary);
    const rows = [...statsLines(s, split), ...(line ? [line] : [])].map(([label, value]) => {
      const row = document.createElement('div');
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.textContent = value;
      row.append(dt, dd);
      return row;
    });
    el.lines.replaceChildren(...rows);
  }

  function render(st) {
    el.toggle.textContent = st.stats ? 'Hide' : 'Show';
    const on = st.stats && st.phase === 'playing';
    if (on === !el.box.hidden) return;
    el.box.hidden = !on;
    clearTimeout(timer);
    reading++;
    prev = null;
    if (on) read(reading);
  }

  render(store.get());
  store.subscribe(render);
}
