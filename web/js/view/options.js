// The player's choices on the page: the name (on the home page and in the
// players panel), the options for new rooms, and the region, shown only
// where the servers are in more than one zone.

import { zonesOf } from '../model/workers.js';

const $ = (id) => document.getElementById(id);

/** actions: nick(text), option(name, on), zone(zone). */
export function mountOptions(store, { actions }) {
  const el = {
    nick: $('nick'),
    roomNick: $('room-nick'),
    optPrivate: $('opt-private'),
    optCrowd: $('opt-crowd'),
    zoneField: $('zone-field'),
    zone: $('opt-zone'),
    player: $('player'),
  };

  // Name fields commit on Enter or leaving them.
  for (const input of [el.nick, el.roomNick]) {
    input.addEventListener('change', () => actions.nick(input.value));
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        input.blur();
        if (input === el.roomNick) el.player.focus({ preventScroll: true });
      } else if (e.key === 'Escape' && input === el.roomNick) {
        e.stopPropagation(); // the first Escape leaves the field, not the panel
        input.blur();
      }
    });
  }
  el.optPrivate.addEventListener('change', () => actions.option('private', el.optPrivate.checked));
  el.optCrowd.addEventListener('change', () => actions.option('crowd', el.optCrowd.checked));
  el.zone.addEventListener('change', () => actions.zone(el.zone.value));

  /**
   * The region choice. zone is the one the address asks for: an option
   * even if no server has it now, so the field says what is asked.
   */
  function drawZones(workers, zone) {
    const zones = zonesOf(workers);
    const list = zone && !zones.includes(zone) ? [...zones, zone] : zones;
    el.zoneField.hidden = zones.length < 2;
    const options = [['', 'Any'], ...list.map((z) => [z, zones.includes(z) ? z : `${z} (no server)`])];
    // Rebuilt only when it changed: hello comes often, and a rebuild would
    // close the list under the player's pointer.
    const drawn = [...el.zone.options].map((o) => [o.value, o.textContent]);
    if (JSON.stringify(drawn) !== JSON.stringify(options)) {
      el.zone.replaceChildren(...options.map(([value, textContent]) => Object.assign(document.createElement('option'), { value, textContent })));
    }
    el.zone.value = zone;
  }

  function render(st, prev) {
    if (st.prefs !== prev.prefs) {
      // Into both fields, unless one is being edited.
      for (const input of [el.nick, el.roomNick]) {
        if (document.activeElement !== input || input.value === st.prefs.nick) input.value = st.prefs.nick;
      }
      el.optPrivate.checked = st.prefs.private;
      el.optCrowd.checked = st.prefs.crowd;
    }
    if (st.workers !== prev.workers || st.zone !== prev.zone) drawZones(st.workers, st.zone);
  }

  render(store.get(), {});
  store.subscribe(render);
}
