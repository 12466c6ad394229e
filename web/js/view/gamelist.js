// The game list on the home page: filtered as the player types, chosen
// with the arrows and Enter or a click. Typing anywhere on the list page
// goes to the filter.

import { systemName, systemShort } from '../model/systems.js';
import { artURL, countLabel, listedGames, selectedIndex, shelfNamer, withQuery, withSelection } from '../model/games.js';
import { announce } from './screens.js';

const $ = (id) => document.getElementById(id);
const PAGE = 8; // rows PageUp and PageDown move by

/**
 * A game's tile: its picture when it has one, lazily, in the tile's fixed
 * box so that rows never move as pictures arrive; the system's coloured
 * tile when it has none, or its picture cannot be had. Decorative beside
 * the title: alt="" and hidden from screen readers.
 */
export function gameTile(g) {
  const art = document.createElement('span');
  art.className = 'game-art';
  art.setAttribute('aria-hidden', 'true');
  art.textContent = systemShort(g.system);
  const url = artURL(g);
  if (!url) return art;
  const img = document.createElement('img');
  img.className = 'game-picture';
  img.alt = '';
  img.loading = 'lazy';
  img.decoding = 'async';
  img.width = 56;
  img.height = 56;
  img.addEventListener('error', () => {
    img.remove();
    art.classList.remove('has-picture');
  }, { once: true });
  img.src = url;
  art.classList.add('has-picture');
  art.append(img);
  return art;
}

function gameRow(g, i, favourite) {
  const li = document.createElement('li');
  li.className = 'game';
  li.id = `game-${i}`;
  li.setAttribute('role', 'option');
  li.dataset.index = String(i);
  li.dataset.game = g.id;
  li.dataset.system = g.system;
  const art = gameTile(g);
  const text = document.createElement('span');
  text.className = 'game-text';
  const title = document.createElement('span');
  title.className = 'game-title';
  title.textContent = g.title;
  const sys = document.createElement('span');
  sys.className = 'badge';
  sys.textContent = systemName(g.system);
  const meta = document.createElement('span');
  meta.className = 'game-meta';
  meta.append(sys);
  if (g.detail) {
    const detail = document.createElement('span');
    detail.className = 'game-detail';
    detail.textContent = g.detail;
    meta.append(detail);
  }
  text.append(title, meta);
  const play = document.createElement('span');
  play.className = 'game-play';
  play.setAttribute('aria-hidden', 'true');
  play.textContent = 'Play';
  // Not a tab stop: the list is one control, moved in with the arrows.
  const star = document.createElement('button');
  star.type = 'button';
  star.className = 'game-fav';
  star.tabIndex = -1;
  star.dataset.fav = g.id;
  star.setAttribute('aria-pressed', String(favourite));
  star.setAttribute('aria-label', favourite ? `Remove ${g.title} from favourites` : `Add ${g.title} to favourites`);
  star.title = favourite ? 'A favourite' : 'Add to favourites';
  star.textContent = favourite ? '★' : '☆';
  li.append(art, text, star, play);
  return li;
}

/** The heading of a part of the list: "Favourites", "Recently played", a system. */
function groupHeading(label) {
  const li = document.createElement('li');
  li.className = 'game-group';
  li.setAttribute('role', 'presentation');
  li.textContent = label;
  return li;
}

/** actions: start(game), favourite(id, on). desktop: the filter takes the focus (on a phone it would pop the keyboard up). */
export function mountGameList(store, { actions, desktop }) {
  const el = {
    filter: $('filter'),
    games: $('games'),
    count: $('game-count'),
    noGames: $('no-games'),
    noGamesText: $('no-games-text'),
    clearFilter: $('clear-filter'),
  };

  const startAt = (i) => {
    const game = listedGames(store.get())[i];
    if (game) actions.start(game);
  };
  const selectBy = (delta) => store.update((st) => {
    return withSelection(st, selectedIndex(listedGames(st), st.selected) + delta);
  });

  el.filter.addEventListener('input', () => store.update((st) => withQuery(st, el.filter.value)));
  el.clearFilter.addEventListener('click', () => {
    store.update((st) => withQuery(st, ''));
    el.filter.focus();
  });
  el.games.addEventListener('click', (e) => {
    const star = e.target.closest('[data-fav]');
    if (star) {
      actions.favourite(star.dataset.fav, star.getAttribute('aria-pressed') !== 'true');
      return;
    }
    const li = e.target.closest('[data-index]');
    if (li) startAt(Number(li.dataset.index));
  });
  // On the document, not the list: after a game, focus may be nowhere.
  document.addEventListener('keydown', (e) => {
    const st = store.get();
    if (st.phase === 'list' && !st.help && !st.servers) onKey(e);
  });

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    const inFilter = e.target === el.filter;
    // The name field, the room options and the player code keep their own keys.
    if (!inFilter && e.target.closest?.('input, .start-options, .player-code')) return;
    const st = store.get();
    const matches = listedGames(st);
    switch (e.key) {
      case 'ArrowDown': selectBy(1); break;
      case 'ArrowUp': selectBy(-1); break;
      case 'PageDown': selectBy(PAGE); break;
      case 'PageUp': selectBy(-PAGE); break;
      case 'Home': if (inFilter) return; store.update((x) => withSelection(x, 0)); break;
      case 'End': if (inFilter) return; store.update((x) => withSelection(x, matches.length - 1)); break;
      case 'Enter':
        if (!inFilter && e.target.closest?.('button')) return; // a button's own Enter
        startAt(selectedIndex(matches, st.selected));
        break;
      case 'Escape':
        if (!inFilter || !el.filter.value) return;
        store.update((x) => withQuery(x, ''));
        break;
      default:
        // Typing anywhere on the list page goes to the filter.
        if (!inFilter && e.key.length === 1 && e.key !== ' ') el.filter.focus();
        return;
    }
    e.preventDefault();
  }

  /** Marks the selected row; scroll: bring it into view (a key moved it). */
  function select(st, scroll) {
    const items = el.games.querySelectorAll('li.game');
    const i = selectedIndex(listedGames(st), st.selected);
    for (const li of items) li.setAttribute('aria-selected', 'false');
    const li = items[i];
    if (li) {
      li.setAttribute('aria-selected', 'true');
      el.filter.setAttribute('aria-activedescendant', li.id);
      if (scroll) li.scrollIntoView({ block: 'nearest' });
    } else {
      el.filter.removeAttribute('aria-activedescendant');
    }
  }

  function draw(st) {
    if (el.filter.value !== st.query) el.filter.value = st.query;
    const matches = listedGames(st);
    const shelves = st.prefs.shelves;
    const favourites = new Set(shelves?.favourites ?? []);
    // Headings only where there is more than one part to tell apart.
    const groups = matches.map(shelfNamer(shelves));
    const grouped = new Set(groups).size > 1;
    const rows = [];
    matches.forEach((g, i) => {
      if (grouped && groups[i] !== groups[i - 1]) rows.push(groupHeading(groups[i]));
      rows.push(gameRow(g, i, favourites.has(g.id)));
    });
    el.games.replaceChildren(...rows);
    select(st, false);
    el.count.textContent = countLabel(st);
    const none = matches.length === 0;
    el.noGames.hidden = !none;
    el.games.hidden = none;
    el.filter.setAttribute('aria-expanded', String(!none));
    if (none) {
      const total = st.games.length;
      el.noGamesText.textContent = total === 0 ? 'There are no games on this server yet.' : `No games match “${st.query.trim()}”.`;
      el.clearFilter.hidden = total === 0;
      if (st.phase === 'list') announce(el.noGamesText.textContent);
    }
  }

  function render(st, prev) {
    const entered = st.phase === 'list' && prev.phase !== 'list';
    if (entered || st.games !== prev.games || st.query !== prev.query || st.prefs.shelves !== prev.prefs?.shelves) draw(st);
    else if (st.selected !== prev.selected) select(st, true);
    if (entered) {
      announce(`${st.games.length} games`);
      if (desktop) el.filter.focus({ preventScroll: true });
    }
  }

  render(store.get(), {});
  store.subscribe(render);
}
