// The player's top bar: the game, the role chip, Players, Saves, Share,
// the sound (mute and volume), Help, Smooth, the screen filter,
// Fullscreen and Quit. It
// hides itself after a moment of play, unless the mouse, the focus, the
// help or a panel is on it, and comes back with the mouse, a tap on the
// picture, the focus, or its handle, the small tab that shows where it
// went. Share copies the room's link, or shows it to copy by hand.

import { controllerLink, roomLink, counts, countsLabel, roleLabel } from '../model/room.js';
import { filterLabel, nextFilter } from '../model/filter.js';
import { systemName } from '../model/systems.js';
import { togglePanel, withToast } from '../model/state.js';
import { copyText } from '../clipboard.js';
import { announce } from './screens.js';

const $ = (id) => document.getElementById(id);
const BAR_HIDE_MS = 2000;

/** actions: quit(), fullscreen(), smooth(), filter(kind), sound({ volume, mute }). Returns showBar, for keys that want the bar seen. */
export function mountTopBar(store, { actions }) {
  const el = {
    player: $('player'),
    topbar: $('topbar'),
    title: $('player-title'),
    system: $('player-system'),
    roleChip: $('role-chip'),
    people: $('people-btn'),
    peopleCount: $('people-count'),
    peopleMore: $('people-more'),
    saves: $('saves-btn'),
    share: $('share-btn'),
    sharePop: $('share-pop'),
    shareLink: $('share-link'),
    smooth: $('smooth-btn'),
    filter: $('filter-btn'),
    filterLabel: $('filter-label'),
    fullscreen: $('fullscreen-btn'),
    fullscreenIcon: $('fullscreen-icon'),
    mute: $('mute-btn'),
    muteIcon: $('mute-icon'),
    volume: $('volume'),
  };
  let barTimer = 0;

  function showBar() {
    el.player.classList.remove('bar-hidden');
    clearTimeout(barTimer);
    barTimer = setTimeout(hideBar, BAR_HIDE_MS);
  }

  function hideBar() {
    clearTimeout(barTimer);
    const st = store.get();
    // Not from under the mouse or the keyboard focus, nor behind the help
    // or beside a panel.
    // A controller page has no picture for the bar to uncover.
    if (st.controller) return;
    if (el.topbar.matches(':hover') || el.topbar.contains(document.activeElement) || st.help || st.panel) {
      barTimer = setTimeout(hideBar, BAR_HIDE_MS);
      return;
    }
    el.player.classList.add('bar-hidden');
  }

  // Copies the room's link (linkOf: roomLink, or controllerLink for a
  // phone's controller page), or shows it to copy by hand.
  async function share(linkOf = roomLink) {
    const s = store.get().session;
    if (!s?.roomId) return;
    const link = linkOf(s.roomId, location.origin);
    if (await copyText(link)) store.update((st) => withToast(st, 'Link copied'));
    else if (store.get().session?.ref === s.ref) store.update({ shareLink: link });
  }

  // A mouse click leaves focus on the button, where Enter would press it
  // again instead of reaching the game as Start: drop it.
  const bar = (id, fn) => $(id).addEventListener('click', (e) => {
    if (e.detail > 0) e.currentTarget.blur();
    fn();
  });
  bar('help-btn', () => store.update({ help: true }));
  bar('smooth-btn', () => actions.smooth());
  bar('filter-btn', () => {
    const st = store.get();
    actions.filter(nextFilter(st.prefs.filter, st.session?.game?.system));
  });
  bar('fullscreen-btn', () => actions.fullscreen());
  bar('quit-btn', () => actions.quit());
  bar('mute-btn', () => {
    const { volume, mute } = store.get().prefs;
    // Unmuting at no volume would still be silent: back to a half.
    actions.sound(mute && volume === 0 ? { mute: false, volume: 0.5 } : { mute: !mute });
  });
  // Moving the slider is choosing to hear it.
  el.volume.addEventListener('input', () => actions.sound({ volume: Number(el.volume.value) / 100, mute: false }));
  // Arrow keys on the slider move it, not the game; after a drag the keys
  // go back to the game.
  el.volume.addEventListener('keydown', (e) => e.stopPropagation());
  el.volume.addEventListener('pointerup', () => el.player.focus({ preventScroll: true }));
  bar('share-btn', () => share());
  $('panel-share').addEventListener('click', () => share());
  $('panel-controller').addEventListener('click', () => share(controllerLink));
  $('share-done').addEventListener('click', () => store.update({ shareLink: '' }));
  el.people.addEventListener('click', (e) => store.update((st) => togglePanel(st, 'players', e.detail === 0)));
  el.saves.addEventListener('click', (e) => store.update((st) => togglePanel(st, 'saves', e.detail === 0)));
  // A click or tap anywhere else puts the link away.
  document.addEventListener('pointerdown', (e) => {
    if (store.get().shareLink && !e.target.closest?.('#share-pop, #share-btn, #panel-share, #panel-controller')) store.update({ shareLink: '' });
  }, true);

  el.player.addEventListener('pointermove', (e) => {
    if (e.pointerType === 'mouse') showBar();
  });
  el.player.addEventListener('pointerup', (e) => {
    // On touch screens a tap on the picture shows or hides the bar.
    if (!e.target.closest('#stage') || e.target.closest('button, #continue')) return;
    // A tap or click on the picture puts a panel away first.
    if (store.get().panel) store.update({ panel: null });
    else if (e.pointerType !== 'mouse') {
      if (el.player.classList.contains('bar-hidden')) showBar();
      else hideBar();
    }
  });
  $('bar-handle').addEventListener('click', (e) => {
    if (e.detail > 0) e.currentTarget.blur();
    showBar();
  });
  el.topbar.addEventListener('focusin', showBar);
  el.topbar.addEventListener('pointerenter', showBar);

  function drawRoom(s) {
    const room = s?.roomState ?? null;
    el.share.hidden = !room;
    el.people.hidden = !room;
    el.roleChip.hidden = !room;
    if (!room) return;
    el.roleChip.textContent = roleLabel(s.slot);
    el.roleChip.dataset.slot = String(s.slot);
    el.roleChip.title = s.slot > 0 ? `You are player ${s.slot}` : 'You are watching';
    const c = counts(room);
    el.peopleCount.textContent = String(c.players);
    el.peopleMore.textContent = c.spectators ? ` playing · ${c.spectators} watching` : ' playing';
    el.people.setAttribute('aria-label', `Players: ${countsLabel(c)}`);
  }

  function drawSound({ volume, mute }) {
    const silent = mute || volume === 0;
    el.mute.setAttribute('aria-pressed', String(silent));
    el.mute.setAttribute('aria-label', silent ? 'Unmute' : 'Mute');
    el.mute.title = silent ? 'Unmute' : 'Mute';
    el.muteIcon.setAttribute('href', silent ? '#i-muted' : '#i-sound');
    const value = String(Math.round((mute ? 0 : volume) * 100));
    if (el.volume.value !== value) el.volume.value = value;
  }

  // The button names the filter on; where WebGL is missing it says so,
  // and the plain video shows.
  function drawFilter(kind, available, system) {
    const on = available && kind !== 'off';
    el.filter.disabled = !available;
    el.filter.setAttribute('aria-pressed', String(on));
    el.filterLabel.textContent = on ? filterLabel(kind) : 'Filter';
    const next = filterLabel(nextFilter(kind, system));
    el.filter.setAttribute('aria-label', available ? `Screen filter: ${filterLabel(kind)}` : 'Screen filter: unavailable');
    el.filter.title = available ? `Screen filter: ${filterLabel(kind)} (click for ${next})` : 'Screen filters need WebGL, which this browser lacks';
  }

  function drawShareLink(link, st) {
    if (link) {
      el.shareLink.value = link;
      el.sharePop.hidden = false;
      showBar();
      el.shareLink.focus({ preventScroll: true });
      el.shareLink.select();
    } else if (!el.sharePop.hidden) {
      const inside = el.sharePop.contains(document.activeElement);
      el.sharePop.hidden = true;
      if (inside && st.phase === 'playing' && !st.panel) el.player.focus({ preventScroll: true });
    }
  }

  function render(st, prev) {
    const s = st.session;
    if (st.phase === 'playing' && prev.phase !== 'playing' && s) {
      el.title.textContent = s.game.title;
      el.system.textContent = systemName(s.game.system);
      el.system.dataset.system = s.game.system;
      el.player.dataset.system = s.game.system;
      // Keys must reach the game, not a control of a view that just vanished.
      el.player.focus({ preventScroll: true });
      showBar();
      announce(`Playing ${s.game.title}. Press question mark for the controls.`);
    }
    if (st.phase !== 'playing' && prev.phase === 'playing') clearTimeout(barTimer);
    if (s?.roomState !== prev.session?.roomState || s?.slot !== prev.session?.slot) drawRoom(s);
    if (st.shareLink !== prev.shareLink) drawShareLink(st.shareLink, st);
    if (st.panel !== prev.panel) {
      el.people.setAttribute('aria-expanded', String(st.panel?.name === 'players'));
      el.saves.setAttribute('aria-expanded', String(st.panel?.name === 'saves'));
      el.player.classList.toggle('panel-open', !!st.panel);
      if (st.panel) showBar();
    }
    if (st.smooth !== prev.smooth) el.smooth.setAttribute('aria-pressed', String(st.smooth));
    const system = s?.game?.system;
    if (st.prefs.filter !== prev.prefs?.filter || st.filterAvailable !== prev.filterAvailable || system !== prev.session?.game?.system) {
      drawFilter(st.prefs.filter, st.filterAvailable, system);
    }
    if (st.prefs.volume !== prev.prefs?.volume || st.prefs.mute !== prev.prefs?.mute) drawSound(st.prefs);
    if (st.fullscreen !== prev.fullscreen || st.fullscreenSupported !== prev.fullscreenSupported) {
      el.fullscreen.hidden = !st.fullscreenSupported;
      el.fullscreen.setAttribute('aria-pressed', String(st.fullscreen));
      el.fullscreen.setAttribute('aria-label', st.fullscreen ? 'Exit fullscreen' : 'Fullscreen');
      el.fullscreenIcon.setAttribute('href', st.fullscreen ? '#i-shrink' : '#i-expand');
    }
  }

  render(store.get(), {});
  store.subscribe(render);
  return { showBar };
}
