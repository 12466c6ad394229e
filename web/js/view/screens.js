// The app's screens: connecting, the list, loading, a failure's message,
// and the player; one shows at a time, the one the phase calls for. The
// list and the player are drawn by views of their own; this one draws the
// small screens, the page's title, and owns the line screen readers hear
// (#status), which every view speaks through.

import { viewOf } from '../model/state.js';

const $ = (id) => document.getElementById(id);

/** Says text to screen readers; the views themselves change silently. */
export function announce(text) {
  $('status').textContent = text;
}

/** The loading screen's heading, for a start or a join (whose game may not be known yet). */
function loadingTitle({ game, joining }) {
  if (joining) return game ? `Joining ${game.title}…` : 'Joining the room…';
  return `Starting ${game?.title}…`;
}

/**
 * actions: retry(), back(), reload(), cancel(). desktop: not a touch
 * screen, where a focused button shows only a ring nobody asked for.
 */
export function mountScreens(store, { actions, desktop }) {
  const views = {
    connecting: $('view-connecting'),
    list: $('view-list'),
    loading: $('view-loading'),
    message: $('view-message'),
  };
  const el = {
    app: $('app'),
    player: $('player'),
    loadingTitle: $('loading-title'),
    loadingStep: $('loading-step'),
    icon: $('message-icon'),
    title: $('message-title'),
    text: $('message-text'),
    detail: $('message-detail'),
    note: $('message-note'),
    retry: $('retry-btn'),
    reload: $('reload-btn'),
    back: $('back-btn'),
    check: $('check-link'),
  };

  el.retry.addEventListener('click', () => actions.retry());
  el.reload.addEventListener('click', () => actions.reload());
  el.back.addEventListener('click', () => actions.back());
  $('cancel-btn').addEventListener('click', () => actions.cancel());
  // A held Enter repeats, and on a button each repeat is a click: the Enter
  // that started a game must not also press the Retry or Cancel that
  // appears under it.
  document.addEventListener('keydown', (e) => {
    if (e.repeat && (e.key === 'Enter' || e.key === ' ') && e.target.closest?.('#app button, #continue button')) e.preventDefault();
  }, true);

  function showMessage(m) {
    views.message.dataset.kind = m.kind;
    el.icon.setAttribute('href', `#${m.icon}`);
    el.title.textContent = m.title;
    el.text.textContent = m.text;
    el.text.hidden = !m.text;
    el.detail.textContent = m.detail;
    el.detail.hidden = !m.detail;
    el.retry.hidden = !m.retry;
    el.retry.textContent = m.retry || 'Retry';
    el.reload.hidden = !m.reload;
    el.back.hidden = !m.back;
    el.check.hidden = !m.check;
    announce(`${m.title}. ${m.text} ${m.detail}`);
    const primary = [el.reload, el.retry, el.back].find((b) => !b.hidden);
    if (desktop) primary?.focus({ preventScroll: true });
    else document.activeElement?.blur?.();
  }

  function render(st, prev) {
    const view = viewOf(st.phase);
    if (view !== (prev.phase && viewOf(prev.phase))) {
      for (const [key, node] of Object.entries(views)) node.hidden = key !== view;
      el.app.hidden = view === 'player';
      el.player.hidden = view !== 'player';
      if (view === 'connecting') announce('Connecting to Telecart…');
    }
    if (view === 'loading' && st.loading !== prev.loading) {
      const title = loadingTitle(st.loading);
      el.loadingTitle.textContent = title;
      announce(title);
      // Focus the heading, not Cancel: a second Enter should not cancel.
      el.loadingTitle.focus({ preventScroll: true });
    }
    if (st.step !== prev.step) el.loadingStep.textContent = st.step;
    if (st.message && st.message !== prev.message) showMessage(st.message);
    if (st.note !== prev.note) el.note.textContent = st.note;
    const title = st.phase === 'playing' && st.session?.game ? st.session.game.title : 'Telecart';
    if (document.title !== title) document.title = title;
  }

  render(store.get(), {});
  store.subscribe(render);
}
