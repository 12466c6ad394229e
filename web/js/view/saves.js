// The saves panel: the autosave and slots 1-4, each with the picture and
// the age of its moment (or Empty), Save and Load, and Download and Upload
// of save files. A spectator's Load and Upload are disabled with the
// reason and a way to a controller. The ages move on while the panel is
// open.

import { QUICK_SLOT, SAVE_SLOTS, saveAge, saveMoment, slotName } from '../model/saves.js';
import { watching } from '../model/session.js';
import { openPanel } from '../model/state.js';

const $ = (id) => document.getElementById(id);
const AGE_REFRESH_MS = 30_000; // "3 min ago" needs no finer steps
const BUTTON_KINDS = ['save', 'load', 'download', 'upload'];

/** One small button of a save slot's row: data-kind="n", its words for screen readers. */
function slotButton(kind, n, text, label) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'btn btn-small';
  b.dataset[kind] = String(n);
  b.textContent = text;
  b.setAttribute('aria-label', label);
  return b;
}

/** The row of slot n, as session s stands at now (Unix ms). */
function slotRow(s, n, now) {
  const list = s.saves ?? [];
  const save = list.find((x) => x.slot === n);
  const spectator = watching(s);
  const transfer = s.transferring?.slot === n ? s.transferring.kind : null;
  const li = document.createElement('li');
  li.className = 'save';
  li.dataset.slot = String(n);
  li.dataset.state = s.saving === n ? 'saving' : s.loading === n ? 'loading'
    : transfer ? `${transfer}ing` : save ? 'full' : 'empty';

  let thumb;
  if (save?.thumbnail) {
    thumb = document.createElement('img');
    thumb.src = save.thumbnail;
    thumb.alt = '';
    thumb.decoding = 'async';
  } else {
    thumb = document.createElement('span');
    thumb.textContent = n === 0 ? 'Auto' : String(n);
    thumb.setAttribute('aria-hidden', 'true');
  }
  thumb.classList.add('save-thumb');

  const text = document.createElement('span');
  text.className = 'save-text';
  const name = document.createElement('span');
  name.className = 'save-name';
  name.append(Object.assign(document.createElement('span'), { textContent: slotName(n) }));
  if (n === list[0]?.slot && list.length > 1) {
    name.append(Object.assign(document.createElement('span'), { className: 'save-tag', textContent: 'Newest' }));
  }
  const time = document.createElement('span');
  time.className = 'save-time';
  if (s.saving === n) time.textContent = 'Saving…';
  else if (s.loading === n) time.textContent = 'Loading…';
  else if (transfer) time.textContent = transfer === 'download' ? 'Downloading…' : 'Uploading…';
  else if (save) {
    time.textContent = saveAge(save.time, now);
    time.title = new Date(save.time).toLocaleString();
  } else time.textContent = 'Empty';
  text.append(name, time);

  const actions = document.createElement('span');
  actions.className = 'save-actions';
  const when = save ? ` (${saveMoment(save.time, now)})` : '';
  const replacing = save ? `, replacing the save of ${saveMoment(save.time, now)}` : '';
  if (n > 0) {
    const b = slotButton('save', n, 'Save', `Save to ${slotName(n).toLowerCase()}${replacing}`);
    if (n === QUICK_SLOT) b.title = 'F2';
    actions.append(b);
  }
  const load = slotButton('load', n, 'Load', `Load ${slotName(n).toLowerCase()}${when}`);
  load.classList.add('btn-primary');
  load.disabled = !save || spectator;
  if (save && spectator) {
    load.title = 'Take a controller to load: spectators can’t';
    load.setAttribute('aria-describedby', 'saves-watch-note');
  } else if (n === QUICK_SLOT && save) load.title = 'F4';
  actions.append(load);

  // Files, on their own line under the name: four buttons do not fit
  // beside it. The autosave is the room's to write, so none goes in.
  const files = document.createElement('span');
  files.className = 'save-files';
  if (save) {
    const label = n === 0 ? 'Download the autosave as a file' : `Download the save in ${slotName(n).toLowerCase()} as a file`;
    files.append(slotButton('download', n, 'Download', label));
  }
  for (const b of files.children) b.disabled = !!s.transferring; // one file at a time
  if (n > 0) {
    const up = slotButton('upload', n, 'Upload', `Upload a save file into ${slotName(n).toLowerCase()}${replacing}`);
    // The server takes files from players only: a file is a stranger's bytes to keep.
    up.disabled = !!s.transferring || spectator;
    if (spectator) {
      up.title = 'Take a controller to upload: spectators can’t';
      up.setAttribute('aria-describedby', 'saves-watch-note');
    }
    files.append(up);
  }

  li.append(thumb, text, actions, files);
  return li;
}

/** actions: save(slot), load(slot), download(slot), upload(slot, file). */
export function mountSaves(store, { actions }) {
  const el = {
    player: $('player'),
    panel: $('saves-panel'),
    close: $('saves-panel-close'),
    slots: $('save-slots'),
    status: $('saves-status'),
    watchNote: $('saves-watch-note'),
    fileInput: $('save-file-input'),
  };
  let held = ''; // the button the list holds focus for while it is disabled, see draw
  let ageTimer = 0;

  el.close.addEventListener('click', () => store.update({ panel: null }));
  // Restart asks once more: everyone's unsaved progress goes.
  const restart = { ask: $('restart-btn'), confirm: $('restart-confirm'), yes: $('restart-yes'), no: $('restart-no') };
  const asking = (on) => {
    restart.confirm.hidden = !on;
    restart.ask.hidden = on;
    (on ? restart.no : restart.ask).focus({ preventScroll: true });
  };
  restart.ask.addEventListener('click', () => asking(true));
  restart.no.addEventListener('click', () => asking(false));
  restart.yes.addEventListener('click', () => {
    restart.confirm.hidden = true;
    restart.ask.hidden = false;
    actions.reset();
  });
  $('saves-take').addEventListener('click', (e) => store.update((st) => openPanel(st, 'players', e.detail === 0)));
  el.slots.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b || b.disabled) return;
    if (b.dataset.save) actions.save(Number(b.dataset.save));
    else if (b.dataset.load) actions.load(Number(b.dataset.load));
    else if (b.dataset.download) actions.download(Number(b.dataset.download));
    else if (b.dataset.upload) chooseFile(Number(b.dataset.upload));
  });
  // The slot rides on the input itself (data-slot), set by Upload: the
  // file chooser may take minutes, and nothing else remembers the row.
  el.fileInput.addEventListener('change', () => {
    const input = el.fileInput;
    const file = input.files?.[0];
    const slot = Number(input.dataset.slot);
    input.value = ''; // choosing the same file again is a change too
    if (file && slot) actions.upload(slot, file);
  });

  /** Upload: the file chooser, for slot; the file goes up once chosen. */
  function chooseFile(slot) {
    el.fileInput.dataset.slot = String(slot);
    el.fileInput.value = '';
    el.fileInput.click();
  }

  function draw(s) {
    const list = s.saves ?? [];
    const focused = document.activeElement?.closest?.('#save-slots button');
    const key = focused && BUTTON_KINDS.find((k) => focused.dataset[k] !== undefined);
    const refocus = key ? `[data-${key}="${focused.dataset[key]}"]` : document.activeElement === el.slots ? held : '';
    held = '';
    el.watchNote.hidden = !watching(s);
    restart.ask.disabled = watching(s) || !s.started;
    el.status.textContent = s.saves === null ? 'Loading your saves…' : list.length === 0 ? 'No saves of this game yet.' : '';
    el.status.hidden = !el.status.textContent;
    const now = Date.now();
    const rows = [];
    for (let n = 0; n <= SAVE_SLOTS; n++) rows.push(slotRow(s, n, now));
    el.slots.replaceChildren(...rows);
    if (!refocus) return;
    const again = el.slots.querySelector(refocus);
    if (again && !again.disabled) again.focus({ preventScroll: true });
    else if (again && s.transferring) {
      // Off while a file is on its way: the list holds focus until the
      // button is back, rather than a neighbour that the next Enter would
      // press (a Save over the slot just uploaded into).
      held = refocus;
      el.slots.focus({ preventScroll: true });
    } else el.close.focus({ preventScroll: true });
  }

  /** "3 min ago" moves on while the panel is open. */
  function refreshAges() {
    clearTimeout(ageTimer);
    ageTimer = setTimeout(() => {
      const s = store.get().session;
      if (store.get().panel?.name !== 'saves' || !s) return;
      draw(s);
      refreshAges();
    }, AGE_REFRESH_MS);
  }

  function open(s, focus) {
    draw(s);
    el.panel.hidden = false;
    refreshAges();
    // Keyboard users land in the panel; a mouse click leaves keys to the game.
    if (focus) (el.slots.querySelector('button:not(:disabled)') ?? el.close).focus({ preventScroll: true });
    else el.player.focus({ preventScroll: true });
  }

  function close(st) {
    clearTimeout(ageTimer);
    if (el.panel.hidden) return;
    const inside = el.panel.contains(document.activeElement);
    el.panel.hidden = true;
    if (inside && st.phase === 'playing' && !st.panel) el.player.focus({ preventScroll: true });
  }

  /** What the panel shows of a session: a change to any of it draws the panel again. */
  const shown = (st) => {
    const s = st.session;
    return s && [s.saves, s.saving, s.loading, s.transferring, watching(s)];
  };

  function render(st, prev) {
    const opened = st.panel?.name === 'saves' && prev.panel?.name !== 'saves';
    if (opened) open(st.session, st.panel.focus);
    else if (st.panel?.name !== 'saves' && prev.panel?.name === 'saves') close(st);
    else if (st.session && !sameParts(shown(st), shown(prev))) draw(st.session);
  }

  render(store.get(), {});
  store.subscribe(render);
}

function sameParts(a, b) {
  return !!a && !!b && a.every((x, i) => x === b[i]);
}
