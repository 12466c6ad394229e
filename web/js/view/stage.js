// The stage around the picture: the spinner until the first picture, the
// sound hint, "unstable" and "reconnecting" notes, the touch pad (on touch
// screens, put away while a gamepad plays), and a spectator's hint in its
// place. Escape puts away, one at a time, what lies over the game.

import { watching } from '../model/session.js';
import { openPanel } from '../model/state.js';

const $ = (id) => document.getElementById(id);

/** actions: unlockAudio(), dismissContinue(). touchpad and screen: the devices it lays out. */
export function mountStage(store, { actions, touchpad, screen, desktop }) {
  const el = {
    player: $('player'),
    wait: $('stage-wait'),
    soundHint: $('sound-hint'),
    soundHintText: $('sound-hint-text'),
    unstable: $('unstable'),
    reconnecting: $('reconnecting'),
    watchHint: $('watch-hint'),
  };

  el.soundHint.addEventListener('click', () => actions.unlockAudio());
  $('watch-take').addEventListener('click', (e) => store.update((st) => openPanel(st, 'players', e.detail === 0)));
  addEventListener('touchstart', () => {
    if (!store.get().touch) console.info('telecart: touch screen seen, showing the touch pad');
    store.update({ touch: true, padHidden: false });
  }, { passive: true, capture: true });
  document.addEventListener('keydown', (e) => {
    const st = store.get();
    if (e.key !== 'Escape' || st.phase !== 'playing' || st.help) return;
    if (st.shareLink) store.update({ shareLink: '' });
    else if (st.panel) store.update({ panel: null });
    else if (st.session?.offerShown) actions.dismissContinue();
  });

  function render(st, prev) {
    const s = st.session;
    const playing = st.phase === 'playing';
    const spectator = playing && watching(s);
    // A controller page shows its pad on any screen: it is what the page is for.
    const pad = playing && (st.touch || st.controller) && !st.padHidden && !spectator;
    if (touchpad.visible !== pad) touchpad.visible = pad;
    el.player.classList.toggle('has-touchpad', pad);
    el.watchHint.hidden = !spectator;
    el.player.classList.toggle('watching', spectator);
    el.wait.hidden = !!s?.frame;
    el.unstable.hidden = !s?.unstable;
    el.reconnecting.hidden = !(s?.resuming || s?.resumeSent);
    if (s?.started && !Object.is(s.aspect, prev.session?.aspect)) screen.setAspect(s.aspect);
    if (s?.started) touchpad.setSystem(s.game.system);
    if (st.soundBlocked !== prev.soundBlocked) {
      el.soundHintText.textContent = desktop ? 'Click for sound' : 'Tap for sound';
      el.soundHint.hidden = !st.soundBlocked;
    }
  }

  render(store.get(), {});
  store.subscribe(render);
}
