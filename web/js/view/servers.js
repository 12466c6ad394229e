// The servers panel (a dialog), for whoever runs or tests the servers:
// each worker's zone, rooms in use of capacity, draining or full, and the
// round trip this page measured, the fastest marked; one can be picked by
// hand for the next start. Opened from the list's foot, or by ?debug.

import { fastest, full, loadLabel, rttLabel, rttQuality, serverRows } from '../model/workers.js';

const $ = (id) => document.getElementById(id);

const tag = (className, textContent) => Object.assign(document.createElement('span'), { className, textContent });

function row(id, name, meta, checked) {
  const label = document.createElement('label');
  label.className = 'server';
  label.dataset.worker = id;
  const radio = document.createElement('input');
  radio.type = 'radio';
  radio.name = 'server';
  radio.value = id;
  radio.checked = checked;
  const text = document.createElement('span');
  text.className = 'server-text';
  const title = document.createElement('span');
  title.className = 'server-name';
  title.append(Object.assign(document.createElement('span'), { textContent: name }));
  const detail = document.createElement('span');
  detail.className = 'server-meta';
  detail.textContent = meta;
  text.append(title, detail);
  label.append(radio, text);
  return { label, radio, title };
}

function workerRow(w, pick, best) {
  const { label, radio, title } = row(w.id, w.id, loadLabel(w), pick === w.id);
  const tags = [];
  if (w.zone) tags.push(tag('badge', w.zone));
  if (w.draining) tags.push(tag('flag', 'Draining'));
  else if (full(w)) tags.push(tag('flag', 'Full'));
  if (w.id === best) tags.push(tag('save-tag', 'Fastest'));
  title.append(...tags);
  const rtt = tag('server-rtt', rttLabel(w));
  if (typeof w.rtt === 'number' && !w.measuring) rtt.dataset.quality = rttQuality(w.rtt);
  else rtt.dataset.state = w.measuring ? 'measuring' : w.rtt === null ? 'unreachable' : 'none';
  label.append(rtt);
  // Draining takes no new rooms: there is nothing to try.
  radio.disabled = w.draining;
  if (w.draining) label.title = 'Draining: it takes no new games';
  radio.setAttribute('aria-label', `${w.id}${w.zone ? `, ${w.zone}` : ''}: ${loadLabel(w)}${w.draining ? ', draining' : ''}, ${rttLabel(w)}`);
  return label;
}

/** actions: pick(id), remeasure(). */
export function mountServers(store, { actions }) {
  const el = {
    dialog: $('servers'),
    button: $('servers-btn'),
    label: $('servers-label'),
    rows: $('server-rows'),
  };

  // A choice here is for the next start, nothing more.
  const close = () => {
    store.update({ servers: false });
    if (store.get().phase === 'list') el.button.focus({ preventScroll: true });
  };
  el.button.addEventListener('click', () => store.update((st) => (st.phase === 'list' ? { ...st, servers: true } : st)));
  $('servers-close').addEventListener('click', close);
  $('servers-done').addEventListener('click', close);
  $('servers-measure').addEventListener('click', () => actions.remeasure());
  el.rows.addEventListener('change', (e) => {
    if (e.target.name === 'server') actions.pick(e.target.value);
  });
  el.dialog.addEventListener('click', (e) => {
    if (e.target === el.dialog) close(); // the backdrop
  });
  // Escape closes the dialog by itself.
  el.dialog.addEventListener('close', () => store.update({ servers: false }));

  function draw(st) {
    const focused = document.activeElement?.closest?.('#server-rows input')?.value;
    const workers = serverRows(st.workers, st.rtt, st.measuring);
    const best = fastest(workers);
    const auto = row('', 'Automatic', st.zone ? `The fastest with room, in ${st.zone} when one there has room` : 'The fastest with room', st.pick === '');
    el.rows.replaceChildren(auto.label, ...workers.map((w) => workerRow(w, st.pick, best)));
    if (workers.length === 0) {
      el.rows.append(Object.assign(document.createElement('p'), { className: 'muted small', textContent: 'No game server is connected right now.' }));
    }
    if (focused !== undefined) {
      (el.rows.querySelector(`input[value="${CSS.escape(focused)}"]:not(:disabled)`) ?? el.rows.querySelector('input:checked'))?.focus({ preventScroll: true });
    }
  }

  function render(st, prev) {
    if (st.pick !== prev.pick) {
      el.label.textContent = st.pick ? `Servers: ${st.pick}` : 'Servers';
      el.button.title = st.pick ? `New games start on server ${st.pick}, picked by hand` : '';
    }
    const changed = st.workers !== prev.workers || st.rtt !== prev.rtt || st.measuring !== prev.measuring
      || st.pick !== prev.pick || st.zone !== prev.zone;
    if (changed) draw(st);
    if (st.servers && !el.dialog.open) {
      el.dialog.showModal();
      el.dialog.querySelector('#server-rows input:checked')?.focus({ preventScroll: true });
    } else if (!st.servers && el.dialog.open) el.dialog.close();
  }

  render(store.get(), {});
  store.subscribe(render);
}
