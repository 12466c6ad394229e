// What the player sees around the game: the views (connecting, game list,
// loading, messages), the player's top bar, its players and saves panels,
// the offer to continue, the player code on the home page, the help
// overlay, and the servers panel with the region choice.
//
// This module only draws and reports clicks; it never talks to the network.
// session.js decides which view shows and why, so every state the user can
// be in is decided in one place and merely rendered here.

import { systemName, systemShort } from './systems.js';
import { KEY_BINDINGS } from './input.js';
import { SLOTS, counts, countsLabel, formatAge, holders, me, memberName, roleLabel, slotNames } from './room.js';
import { QUICK_SLOT, SAVE_SLOTS, saveAge, saveMoment, slotName } from './saves.js';
import { fastest, full, loadLabel, rttLabel, rttQuality } from './workers.js';

// Each failure the user can meet, in words a player understands. Retry means
// "try the same thing again"; session.js decides what that is.
const MESSAGES = {
  unreachable: {
    icon: 'i-unplugged',
    title: 'Can’t reach the server',
    text: 'Telecart isn’t answering. Check your internet connection; this page keeps trying.',
    retry: 'Retry',
  },
  lost: {
    icon: 'i-unplugged',
    title: 'Connection lost',
    text: 'The connection to the game was interrupted.',
    retry: 'Retry',
    back: true,
  },
  busy: {
    icon: 'i-busy',
    title: 'All servers are busy',
    text: 'Every game server is in use right now. Try again in a minute.',
    retry: 'Retry',
    back: true,
  },
  failed: {
    icon: 'i-warning',
    title: 'The game could not start',
    text: 'Something went wrong while starting the game.',
    retry: 'Retry',
    back: true,
  },
  ended: {
    icon: 'i-ended',
    title: 'The game has ended',
    text: '',
    retry: 'Play again',
    back: true,
  },
  // A link to a room that is over: the same game can start afresh.
  'room-ended': {
    icon: 'i-ended',
    title: 'This room has ended',
    text: 'Everyone has left, or the game was closed.',
    retry: 'Start it again',
    back: true,
  },
  outdated: {
    icon: 'i-refresh',
    title: 'This page is out of date',
    text: 'Telecart has been updated. Reload the page to continue.',
    reload: true,
  },
};

const BAR_HIDE_MS = 2000;
const TOAST_MS = 2600;
const AGE_REFRESH_MS = 30_000; // "3 min" needs no finer steps
// A downloaded file's object URL outlives the click: some browsers read it
// only after, and revoking it at once can cancel the download.
const FILE_URL_MS = 30_000;

const $ = (id) => document.getElementById(id);

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

/** Lower case without accents, so "pokemon" finds "Pokémon". */
function fold(s) {
  return String(s).normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

export class UI {
  /**
   * @param actions callbacks: start(game), join(roomId), retry(), back(),
   *   reload(), cancel(), quit(), fullscreen(), smooth(), unlockAudio(),
   *   helpChanged(open), seat(slot), nick(text), option(name, on), share(),
   *   save(slot), load(slot), download(slot), upload(slot, file),
   *   continueGame(), dismissContinue(),
   *   copyPlayer(), importPlayer(text), pickWorker(id), zone(zone),
   *   remeasure()
   */
  constructor(actions) {
    this.actions = actions;
    this.view = '';
    this.games = [];
    this.matches = [];
    this.selected = 0;
    this.barTimer = 0;
    this.toastTimer = 0;
    this.liveRooms = [];
    this.ageTimer = 0;
    this.room = null; // the room state the player view shows
    this.seatPending = false;
    this.saves = null; // what the saves panel shows: see setSaves
    this.savesFocus = ''; // the button the list holds focus for, see renderSaves
    this.savesTimer = 0;
    this.workers = null; // what the servers panel shows: see setWorkers
    // "Not a touch screen" rather than "has a mouse": a kiosk or a headless
    // browser has no pointer at all and still types.
    this.desktop = !matchMedia('(pointer: coarse)').matches;

    this.el = {
      app: $('app'),
      status: $('status'),
      views: {
        connecting: $('view-connecting'),
        list: $('view-list'),
        loading: $('view-loading'),
        message: $('view-message'),
      },
      filter: $('filter'),
      games: $('games'),
      count: $('game-count'),
      noGames: $('no-games'),
      noGamesText: $('no-games-text'),
      clearFilter: $('clear-filter'),
      loadingTitle: $('loading-title'),
      loadingStep: $('loading-step'),
      messageIcon: $('message-icon'),
      messageTitle: $('message-title'),
      messageText: $('message-text'),
      messageDetail: $('message-detail'),
      messageNote: $('message-note'),
      retry: $('retry-btn'),
      reload: $('reload-btn'),
      back: $('back-btn'),
      player: $('player'),
      topbar: $('topbar'),
      playerTitle: $('player-title'),
      playerSystem: $('player-system'),
      smooth: $('smooth-btn'),
      fullscreen: $('fullscreen-btn'),
      fullscreenIcon: $('fullscreen-icon'),
      wait: $('stage-wait'),
      soundHint: $('sound-hint'),
      soundHintText: $('sound-hint-text'),
      unstable: $('unstable'),
      reconnecting: $('reconnecting'),
      help: $('help'),
      helpKeys: $('help-keys'),
      live: $('live'),
      liveRooms: $('live-rooms'),
      liveCount: $('live-count'),
      nick: $('nick'),
      optPrivate: $('opt-private'),
      optCrowd: $('opt-crowd'),
      roleChip: $('role-chip'),
      people: $('people-btn'),
      peopleCount: $('people-count'),
      peopleMore: $('people-more'),
      share: $('share-btn'),
      sharePop: $('share-pop'),
      shareLink: $('share-link'),
      panel: $('room-panel'),
      roomFlags: $('room-flags'),
      crowdNote: $('crowd-note'),
      slots: $('slots'),
      watchCount: $('watch-count'),
      watchers: $('watchers'),
      roomNick: $('room-nick'),
      watchHint: $('watch-hint'),
      toast: $('toast'),
      savesBtn: $('saves-btn'),
      savesPanel: $('saves-panel'),
      saveSlots: $('save-slots'),
      savesStatus: $('saves-status'),
      savesWatchNote: $('saves-watch-note'),
      saveFileInput: $('save-file-input'),
      resume: $('continue'),
      resumeThumb: $('continue-thumb'),
      resumeMeta: $('continue-meta'),
      resumeBtn: $('continue-btn'),
      resumeTimer: $('continue-timer'),
      playerId: $('player-id'),
      playerChange: $('player-change'),
      playerImport: $('player-import'),
      playerImportInput: $('player-import-input'),
      playerImportError: $('player-import-error'),
      zoneField: $('zone-field'),
      zone: $('opt-zone'),
      serversBtn: $('servers-btn'),
      serversLabel: $('servers-label'),
      servers: $('servers'),
      serverRows: $('server-rows'),
    };
    const el = this.el;

    el.filter.addEventListener('input', () => this.renderList());
    // A held Enter repeats, and on a button each repeat is a click: the Enter
    // that started a game must not also press the Retry or Cancel that
    // appears under it.
    document.addEventListener('keydown', (e) => {
      if (e.repeat && (e.key === 'Enter' || e.key === ' ') && e.target.closest?.('#app button, #continue button')) e.preventDefault();
    }, true);
    // On the document, not the list: after a game, focus may be nowhere.
    document.addEventListener('keydown', (e) => {
      if (this.view === 'list' && !this.helpOpen && !this.serversOpen) this.onListKey(e);
    });
    el.games.addEventListener('click', (e) => {
      const li = e.target.closest('[data-index]');
      if (li) this.startAt(Number(li.dataset.index));
    });
    // Buttons: Enter and Space join as well as a click does.
    el.liveRooms.addEventListener('click', (e) => {
      const b = e.target.closest('[data-room]');
      if (b) actions.join(b.dataset.room);
    });

    // Nickname fields (home and room panel) commit on Enter or leaving them.
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
    el.clearFilter.addEventListener('click', () => {
      el.filter.value = '';
      this.renderList();
      el.filter.focus();
    });
    $('controls-btn').addEventListener('click', () => this.openHelp());
    $('cancel-btn').addEventListener('click', () => actions.cancel());
    el.retry.addEventListener('click', () => actions.retry());
    el.reload.addEventListener('click', () => actions.reload());
    el.back.addEventListener('click', () => actions.back());

    // Top bar. A mouse click leaves focus on the button, where Enter would
    // press it again instead of reaching the game as Start: drop it.
    const bar = (id, fn) => $(id).addEventListener('click', (e) => {
      if (e.detail > 0) e.currentTarget.blur();
      fn();
    });
    bar('help-btn', () => this.openHelp());
    bar('smooth-btn', () => actions.smooth());
    bar('fullscreen-btn', () => actions.fullscreen());
    bar('quit-btn', () => actions.quit());
    el.people.addEventListener('click', (e) => this.togglePanel(e.detail === 0));
    bar('share-btn', () => actions.share());
    $('panel-share').addEventListener('click', () => actions.share());
    $('share-done').addEventListener('click', () => this.hideShareLink());
    $('room-panel-close').addEventListener('click', () => this.closePanel());
    $('watch-take').addEventListener('click', (e) => this.openPanel(e.detail === 0));
    el.slots.addEventListener('click', (e) => {
      const b = e.target.closest('[data-seat]');
      if (b && !b.disabled) actions.seat(Number(b.dataset.seat));
    });
    el.savesBtn.addEventListener('click', (e) => this.toggleSaves(e.detail === 0));
    $('saves-panel-close').addEventListener('click', () => this.closeSaves());
    $('saves-take').addEventListener('click', (e) => this.openPanel(e.detail === 0));
    el.saveSlots.addEventListener('click', (e) => {
      const b = e.target.closest('button');
      if (!b || b.disabled) return;
      if (b.dataset.save) actions.save(Number(b.dataset.save));
      else if (b.dataset.load) actions.load(Number(b.dataset.load));
      else if (b.dataset.download) actions.download(Number(b.dataset.download));
      else if (b.dataset.upload) this.chooseSaveFile(Number(b.dataset.upload));
    });
    // The slot rides on the input itself (data-slot), set by Upload: the
    // file chooser may take minutes, and nothing else remembers the row.
    el.saveFileInput.addEventListener('change', () => {
      const input = el.saveFileInput;
      const file = input.files?.[0];
      const slot = Number(input.dataset.slot);
      input.value = ''; // choosing the same file again is a change too
      if (file && slot) actions.upload(slot, file);
    });
    el.resumeBtn.addEventListener('click', () => actions.continueGame());
    $('continue-new').addEventListener('click', () => actions.dismissContinue());
    el.soundHint.addEventListener('click', () => actions.unlockAudio());
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || this.view !== 'player' || this.helpOpen) return;
      if (!el.sharePop.hidden) this.hideShareLink();
      else if (!el.panel.hidden) this.closePanel();
      else if (this.savesOpen) this.closeSaves();
      else if (!el.resume.hidden) actions.dismissContinue();
    });

    // The player code: copied out, or another device's pasted in.
    $('player-copy').addEventListener('click', () => actions.copyPlayer());
    el.playerChange.addEventListener('click', () => {
      if (el.playerImport.hidden) this.openImport();
      else this.closeImport();
    });
    $('player-import-cancel').addEventListener('click', () => this.closeImport());
    el.playerImport.addEventListener('submit', (e) => {
      e.preventDefault();
      actions.importPlayer(el.playerImportInput.value);
    });
    el.playerImportInput.addEventListener('input', () => this.setImportError(''));
    el.playerImportInput.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        this.closeImport();
      }
    });
    // A click or tap anywhere else closes the link popover.
    document.addEventListener('pointerdown', (e) => {
      if (!el.sharePop.hidden && !e.target.closest?.('#share-pop, #share-btn, #panel-share')) this.hideShareLink();
    }, true);

    el.player.addEventListener('pointermove', (e) => {
      if (e.pointerType === 'mouse') this.showBar();
    });
    el.player.addEventListener('pointerup', (e) => {
      // On touch screens a tap on the picture shows or hides the bar.
      if (!e.target.closest('#stage') || e.target.closest('button, #continue')) return;
      // A tap or click on the picture puts a panel away first.
      if (!el.panel.hidden) this.closePanel();
      else if (this.savesOpen) this.closeSaves();
      else if (e.pointerType !== 'mouse') {
        if (el.player.classList.contains('bar-hidden')) this.showBar();
        else this.hideBar();
      }
    });
    el.topbar.addEventListener('focusin', () => this.showBar());
    el.topbar.addEventListener('pointerenter', () => this.showBar());

    // The servers panel: a choice here is for the next start, nothing more.
    el.serversBtn.addEventListener('click', () => this.openServers());
    $('servers-close').addEventListener('click', () => this.closeServers());
    $('servers-done').addEventListener('click', () => this.closeServers());
    $('servers-measure').addEventListener('click', () => actions.remeasure());
    el.serverRows.addEventListener('change', (e) => {
      if (e.target.name === 'server') actions.pickWorker(e.target.value);
    });
    el.servers.addEventListener('click', (e) => {
      if (e.target === el.servers) this.closeServers(); // the backdrop
    });

    $('help-close').addEventListener('click', () => this.closeHelp());
    el.help.addEventListener('close', () => actions.helpChanged(false));
    el.help.addEventListener('click', (e) => {
      if (e.target === el.help) this.closeHelp(); // the backdrop
    });

    this.renderHelp();
    navigator.keyboard?.getLayoutMap?.()
      .then((map) => this.renderHelp(map))
      .catch(() => {}); // not allowed here: QWERTY names it is
  }

  announce(text) {
    this.el.status.textContent = text;
  }

  /** Shows one view of the app, or none while the player is up. */
  showView(name) {
    const left = this.view === 'player' && name !== 'player';
    this.view = name;
    for (const [key, node] of Object.entries(this.el.views)) node.hidden = key !== name;
    const playing = name === 'player';
    this.el.app.hidden = playing;
    this.el.player.hidden = !playing;
    if (left) {
      clearTimeout(this.barTimer);
      this.closeHelp();
      this.closePanel(false);
      this.closeSaves(false);
      this.hideContinue();
      this.hideShareLink(false);
      this.setRoom(null);
    }
    if (name !== 'list') {
      this.closeImport(false);
      this.closeServers();
    }
    if (name === 'list') this.scheduleAges();
    else clearTimeout(this.ageTimer);
  }

  /** True while a text field has the keys: they are typing, not playing. */
  get typing() {
    const a = document.activeElement;
    return a instanceof HTMLInputElement && a.type === 'text' && !a.readOnly;
  }

  // ---- connecting ----

  showConnecting() {
    this.showView('connecting');
    this.announce('Connecting to Telecart…');
  }

  // ---- game list ----

  setGames(games) {
    this.games = games.slice().sort((a, b) => a.title.localeCompare(b.title, undefined, { numeric: true, sensitivity: 'base' }));
    this.renderList();
  }

  showList() {
    const first = this.view !== 'list';
    this.showView('list');
    this.renderList();
    if (first) this.announce(`${this.games.length} games`);
    // Focus the filter on desktop only: on a phone it would pop the keyboard up.
    if (this.desktop) this.el.filter.focus({ preventScroll: true });
  }

  renderList() {
    const { filter, games: list, count, noGames, noGamesText, clearFilter } = this.el;
    const query = filter.value.trim();
    const words = fold(query).split(/\s+/).filter(Boolean);
    const previous = this.matches[this.selected]?.id;
    this.matches = this.games.filter((g) => {
      const hay = fold(`${g.title} ${g.system} ${systemName(g.system)} ${systemShort(g.system)}`);
      return words.every((w) => hay.includes(w));
    });

    list.replaceChildren(...this.matches.map((g, i) => {
      const li = document.createElement('li');
      li.className = 'game';
      li.id = `game-${i}`;
      li.setAttribute('role', 'option');
      li.dataset.index = String(i);
      li.dataset.game = g.id;
      li.dataset.system = g.system;
      const art = document.createElement('span');
      art.className = 'game-art';
      art.setAttribute('aria-hidden', 'true');
      art.textContent = systemShort(g.system);
      const text = document.createElement('span');
      text.className = 'game-text';
      const title = document.createElement('span');
      title.className = 'game-title';
      title.textContent = g.title;
      const sys = document.createElement('span');
      sys.className = 'badge';
      sys.textContent = systemName(g.system);
      text.append(title, sys);
      const play = document.createElement('span');
      play.className = 'game-play';
      play.setAttribute('aria-hidden', 'true');
      play.textContent = 'Play';
      li.append(art, text, play);
      return li;
    }));

    const idx = this.matches.findIndex((g) => g.id === previous);
    this.select(idx >= 0 ? idx : 0, false);

    const total = this.games.length;
    count.textContent = words.length ? `${this.matches.length} of ${total}` : `${total} ${total === 1 ? 'game' : 'games'}`;
    const none = this.matches.length === 0;
    noGames.hidden = !none;
    list.hidden = none;
    filter.setAttribute('aria-expanded', String(!none));
    if (none) {
      noGamesText.textContent = total === 0 ? 'There are no games on this server yet.' : `No games match “${query}”.`;
      clearFilter.hidden = total === 0;
      if (this.view === 'list') this.announce(noGamesText.textContent);
    }
  }

  select(i, scroll = true) {
    const items = this.el.games.children;
    this.selected = Math.max(0, Math.min(i, this.matches.length - 1));
    for (const li of items) li.setAttribute('aria-selected', 'false');
    const li = items[this.selected];
    if (li) {
      li.setAttribute('aria-selected', 'true');
      this.el.filter.setAttribute('aria-activedescendant', li.id);
      if (scroll) li.scrollIntoView({ block: 'nearest' });
    } else {
      this.el.filter.removeAttribute('aria-activedescendant');
    }
  }

  onListKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    const inFilter = e.target === this.el.filter;
    // The name field, the room options and the player code keep their own keys.
    if (!inFilter && e.target.closest?.('input, .start-options, .player-code')) return;
    switch (e.key) {
      case 'ArrowDown': this.select(this.selected + 1); break;
      case 'ArrowUp': this.select(this.selected - 1); break;
      case 'PageDown': this.select(this.selected + 8); break;
      case 'PageUp': this.select(this.selected - 8); break;
      case 'Home': if (inFilter) return; this.select(0); break;
      case 'End': if (inFilter) return; this.select(this.matches.length - 1); break;
      case 'Enter':
        if (!inFilter && e.target.closest?.('button')) return; // a button's own Enter
        this.startAt(this.selected);
        break;
      case 'Escape':
        if (!inFilter || !this.el.filter.value) return;
        this.el.filter.value = '';
        this.renderList();
        break;
      default:
        // Typing anywhere on the list page goes to the filter.
        if (!inFilter && e.key.length === 1 && e.key !== ' ') this.el.filter.focus();
        return;
    }
    e.preventDefault();
  }

  startAt(i) {
    const game = this.matches[i];
    if (game) this.actions.start(game);
  }

  // ---- options for new rooms ----

  /** The stored nickname and room options, into the home page's fields. */
  setOptions({ nick, private: priv, crowd }) {
    this.setNick(nick);
    this.el.optPrivate.checked = !!priv;
    this.el.optCrowd.checked = !!crowd;
  }

  /** The nickname as kept, into both fields, unless one is being edited. */
  setNick(nick) {
    for (const input of [this.el.nick, this.el.roomNick]) {
      if (document.activeElement !== input || input.value === nick) input.value = nick;
    }
  }

  // ---- live rooms ----

  setLiveRooms(rooms) {
    this.liveRooms = rooms;
    this.renderLive();
    this.scheduleAges();
  }

  renderLive() {
    const { live, liveRooms: list, liveCount } = this.el;
    const focused = document.activeElement?.closest?.('#live-rooms [data-room]')?.dataset.room;
    live.hidden = this.liveRooms.length === 0;
    liveCount.textContent = this.liveRooms.length === 1 ? '1 room' : `${this.liveRooms.length} rooms`;
    list.replaceChildren(...this.liveRooms.map((r) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'live-room';
      b.dataset.room = r.id;
      b.dataset.system = r.game.system;
      const art = document.createElement('span');
      art.className = 'game-art';
      art.setAttribute('aria-hidden', 'true');
      art.textContent = systemShort(r.game.system);
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
      meta.append(sys, who, age);
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
      b.setAttribute('aria-label', `Join ${r.game.title}, ${systemName(r.game.system)}: ${countsLabel(r)}, running ${formatAge(r)}`);
      li.append(b);
      return li;
    }));
    if (focused) list.querySelector(`[data-room="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  }

  /** Ages count up while the list shows; only their text changes, so focus stays put. */
  scheduleAges() {
    clearTimeout(this.ageTimer);
    if (this.view !== 'list' || this.liveRooms.length === 0) return;
    this.ageTimer = setTimeout(() => {
      const now = performance.now();
      for (const b of this.el.liveRooms.querySelectorAll('[data-room]')) {
        const r = this.liveRooms.find((x) => x.id === b.dataset.room);
        if (!r) continue;
        b.querySelector('.live-age').textContent = formatAge(r, now);
        b.setAttribute('aria-label', `Join ${r.game.title}, ${systemName(r.game.system)}: ${countsLabel(r)}, running ${formatAge(r, now)}`);
      }
      this.scheduleAges();
    }, AGE_REFRESH_MS);
  }

  // ---- loading ----

  /** Starting a game, or joining a room (whose game may not be known yet). */
  showLoading(game, step, joining = false) {
    this.showView('loading');
    let title = `Starting ${game?.title}…`;
    if (joining) title = game ? `Joining ${game.title}…` : 'Joining the room…';
    this.el.loadingTitle.textContent = title;
    this.el.loadingStep.textContent = step;
    this.announce(title);
    // Focus the heading, not Cancel: a second Enter should not cancel.
    this.el.loadingTitle.focus({ preventScroll: true });
  }

  setLoadingStep(step) {
    this.el.loadingStep.textContent = step;
  }

  // ---- messages ----

  /**
   * A failure or an ending. opts: text (replaces the default), detail (what
   * the server said), title, retry (false hides it), back (false hides it).
   */
  showMessage(kind, opts = {}) {
    const m = MESSAGES[kind];
    const el = this.el;
    this.showView('message');
    el.views.message.dataset.kind = kind;
    el.messageIcon.setAttribute('href', `#${m.icon}`);
    el.messageTitle.textContent = opts.title ?? m.title;
    el.messageText.textContent = opts.text ?? m.text;
    el.messageText.hidden = !el.messageText.textContent;
    el.messageDetail.textContent = opts.detail ?? '';
    el.messageDetail.hidden = !opts.detail;
    el.messageNote.textContent = '';
    el.retry.hidden = !m.retry || opts.retry === false;
    el.retry.textContent = opts.retryLabel ?? m.retry ?? 'Retry';
    el.reload.hidden = !m.reload;
    el.back.hidden = !m.back || opts.back === false;
    this.announce(`${el.messageTitle.textContent}. ${el.messageText.textContent} ${opts.detail ?? ''}`);
    // On a phone a focused button only shows a ring nobody asked for.
    const primary = [el.reload, el.retry, el.back].find((b) => !b.hidden);
    if (this.desktop) primary?.focus({ preventScroll: true });
    else document.activeElement?.blur?.();
  }

  /** A line under the message, e.g. the reconnection countdown. */
  setNote(text) {
    this.el.messageNote.textContent = text;
  }

  // ---- player ----

  showPlayer(game) {
    const el = this.el;
    this.showView('player');
    el.playerTitle.textContent = game.title;
    el.playerSystem.textContent = systemName(game.system);
    el.playerSystem.dataset.system = game.system;
    el.player.dataset.system = game.system;
    this.setUnstable(false);
    // Keys must reach the game, not a control of a view that just vanished.
    el.player.focus({ preventScroll: true });
    this.showBar();
    this.announce(`Playing ${game.title}. Press question mark for the controls.`);
  }

  setWaiting(waiting) {
    this.el.wait.hidden = !waiting;
  }

  setSoundBlocked(blocked) {
    this.el.soundHintText.textContent = this.desktop ? 'Click for sound' : 'Tap for sound';
    this.el.soundHint.hidden = !blocked;
  }

  setUnstable(on) {
    this.el.unstable.hidden = !on;
  }

  /** The signalling is away while the game plays on. */
  setReconnecting(on) {
    this.el.reconnecting.hidden = !on;
  }

  setFullscreen(on, supported = true) {
    const b = this.el.fullscreen;
    b.hidden = !supported;
    b.setAttribute('aria-pressed', String(on));
    b.setAttribute('aria-label', on ? 'Exit fullscreen' : 'Fullscreen');
    this.el.fullscreenIcon.setAttribute('href', on ? '#i-shrink' : '#i-expand');
  }

  setSmooth(on) {
    this.el.smooth.setAttribute('aria-pressed', String(on));
  }

  setTouch(on) {
    this.el.player.classList.toggle('has-touchpad', on);
  }

  showBar() {
    const p = this.el.player;
    p.classList.remove('bar-hidden');
    clearTimeout(this.barTimer);
    this.barTimer = setTimeout(() => this.hideBar(), BAR_HIDE_MS);
  }

  hideBar() {
    clearTimeout(this.barTimer);
    const bar = this.el.topbar;
    // Not from under the mouse or the keyboard focus, nor behind the help
    // or beside the players panel.
    if (bar.matches(':hover') || bar.contains(document.activeElement) || this.helpOpen || this.panelOpen || this.savesOpen) {
      this.barTimer = setTimeout(() => this.hideBar(), BAR_HIDE_MS);
      return;
    }
    this.el.player.classList.add('bar-hidden');
  }

  // ---- the room ----

  /**
   * Draws the room the player is in: the role chip, the people button, the
   * players panel and the spectator's hint. state is a room.js room state,
   * or null outside a room (or before the server has described it); slot is
   * this page's own slot (0 watching) or null when not known yet.
   */
  setRoom(state, slot = null) {
    const el = this.el;
    this.room = state;
    el.share.hidden = !state;
    el.people.hidden = !state;
    el.roleChip.hidden = slot === null || !state;
    if (slot !== null) {
      el.roleChip.textContent = roleLabel(slot);
      el.roleChip.dataset.slot = String(slot);
      el.roleChip.title = slot > 0 ? `You are player ${slot}` : 'You are watching';
    }
    if (!state) {
      this.closePanel(false);
      this.setWatching(false);
      return;
    }
    const c = counts(state);
    el.peopleCount.textContent = String(c.players);
    el.peopleMore.textContent = c.spectators ? ` · ${c.spectators} watching` : ' playing';
    el.people.setAttribute('aria-label', `Players: ${countsLabel(c)}`);
    this.renderPanel();
  }

  renderPanel() {
    const el = this.el;
    const state = this.room;
    if (!state) return;
    const mine = me(state);
    const mySlot = mine ? mine.slot : 0;
    const focusedSeat = document.activeElement?.closest?.('#slots [data-seat]')?.dataset.seat;

    el.roomFlags.replaceChildren(...[state.private && 'Private', state.crowd && 'Crowdplay'].filter(Boolean).map((f) => {
      const span = document.createElement('span');
      span.className = 'flag';
      span.textContent = f;
      return span;
    }));
    el.crowdNote.hidden = !state.crowd;

    const rows = [];
    for (let n = 1; n <= SLOTS; n++) {
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
        b.disabled = this.seatPending;
        li.append(b);
      }
      rows.push(li);
    }
    el.slots.replaceChildren(...rows);

    const watching = holders(state, 0);
    el.watchCount.textContent = String(watching.length);
    el.watchers.replaceChildren(...watching.map((m) => {
      const li = document.createElement('li');
      li.textContent = memberName(m);
      if (m.id === state.you) {
        li.classList.add('is-you');
        li.append(Object.assign(document.createElement('span'), { className: 'you-tag', textContent: 'You' }));
      }
      return li;
    }));
    if (watching.length === 0) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = 'Nobody';
      el.watchers.replaceChildren(li);
    }
    if (focusedSeat !== undefined) {
      const again = el.slots.querySelector('[data-seat]');
      (el.slots.querySelector(`[data-seat="${focusedSeat}"]`) ?? again ?? el.panel.querySelector('#room-panel-close'))?.focus({ preventScroll: true });
    }
  }

  /** A seat request is on its way: its buttons wait for the answer. */
  setSeatPending(on) {
    this.seatPending = on;
    for (const b of this.el.slots.querySelectorAll('[data-seat]')) b.disabled = on;
  }

  /** A spectator sees how to take a controller instead of a touch pad. */
  setWatching(on) {
    this.el.watchHint.hidden = !on;
    this.el.player.classList.toggle('watching', on);
  }

  get panelOpen() {
    return !this.el.panel.hidden;
  }

  togglePanel(byKeyboard) {
    if (this.panelOpen) this.closePanel();
    else this.openPanel(byKeyboard);
  }

  openPanel(byKeyboard = false) {
    const el = this.el;
    if (!this.room) return;
    this.hideShareLink(false);
    this.closeSaves(false); // one panel at a time: they sit in the same place
    el.panel.hidden = false;
    el.people.setAttribute('aria-expanded', 'true');
    el.player.classList.add('panel-open');
    this.showBar();
    // Keyboard users land in the panel; a mouse click leaves keys to the game.
    if (byKeyboard) (el.slots.querySelector('[data-seat]') ?? $('room-panel-close')).focus({ preventScroll: true });
    else el.player.focus({ preventScroll: true });
  }

  closePanel(refocus = true) {
    const el = this.el;
    if (el.panel.hidden) return;
    const inside = el.panel.contains(document.activeElement);
    el.panel.hidden = true;
    el.people.setAttribute('aria-expanded', 'false');
    el.player.classList.remove('panel-open');
    if (refocus && inside && this.view === 'player') el.player.focus({ preventScroll: true });
  }

  // ---- saves ----

  /**
   * Draws the saves panel. view: { saves, watching, saving, loading,
   * transferring } where saves is a saves.js list (null until the server
   * has sent it), watching says loading is not allowed, saving and loading
   * are the slots of requests on their way (or null), and transferring the
   * save file on its way, { kind: 'download' | 'upload', slot }, or null;
   * null outside a game.
   */
  setSaves(view) {
    this.saves = view;
    if (!view) {
      this.closeSaves(false);
      return;
    }
    this.renderSaves();
  }

  renderSaves() {
    const el = this.el;
    const v = this.saves;
    if (!v) return;
    const now = Date.now();
    const list = v.saves ?? [];
    const newest = list[0]?.slot;
    const focused = document.activeElement?.closest?.('#save-slots button');
    const key = focused && ['save', 'load', 'download', 'upload'].find((k) => focused.dataset[k] !== undefined);
    const refocus = key ? `[data-${key}="${focused.dataset[key]}"]` : document.activeElement === el.saveSlots ? this.savesFocus : '';
    this.savesFocus = '';
    const moving = v.transferring ?? null;

    el.savesWatchNote.hidden = !v.watching;
    el.savesStatus.textContent = v.saves === null ? 'Loading your saves…' : list.length === 0 ? 'No saves of this game yet.' : '';
    el.savesStatus.hidden = !el.savesStatus.textContent;

    const rows = [];
    for (let n = 0; n <= SAVE_SLOTS; n++) {
      const save = list.find((x) => x.slot === n);
      const li = document.createElement('li');
      li.className = 'save';
      li.dataset.slot = String(n);
      const transfer = moving?.slot === n ? moving.kind : null;
      li.dataset.state = v.saving === n ? 'saving' : v.loading === n ? 'loading'
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
      if (n === newest && list.length > 1) {
        name.append(Object.assign(document.createElement('span'), { className: 'save-tag', textContent: 'Newest' }));
      }
      const time = document.createElement('span');
      time.className = 'save-time';
      if (v.saving === n) time.textContent = 'Saving…';
      else if (v.loading === n) time.textContent = 'Loading…';
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
      load.disabled = !save || v.watching;
      if (save && v.watching) {
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
      if (n > 0) files.append(slotButton('upload', n, 'Upload', `Upload a save file into ${slotName(n).toLowerCase()}${replacing}`));
      for (const b of files.children) b.disabled = !!moving; // one file at a time

      li.append(thumb, text, actions, files);
      rows.push(li);
    }
    el.saveSlots.replaceChildren(...rows);
    if (!refocus) return;
    const again = el.saveSlots.querySelector(refocus);
    if (again && !again.disabled) again.focus({ preventScroll: true });
    else if (again && moving) {
      // Off while a file is on its way: the list holds focus until the
      // button is back, rather than a neighbour that the next Enter would
      // press (a Save over the slot just uploaded into).
      this.savesFocus = refocus;
      el.saveSlots.focus({ preventScroll: true });
    } else $('saves-panel-close').focus({ preventScroll: true });
  }

  /** Upload: the file chooser, for slot; the file goes up once chosen. */
  chooseSaveFile(slot) {
    const input = this.el.saveFileInput;
    input.dataset.slot = String(slot);
    input.value = '';
    input.click();
  }

  /** Hands a file to the browser to keep, as a download named name. */
  saveFile(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = Object.assign(document.createElement('a'), { href: url, download: name, hidden: true });
    document.body.append(a); // Firefox follows only a link in the document
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), FILE_URL_MS);
  }

  get savesOpen() {
    return !this.el.savesPanel.hidden;
  }

  toggleSaves(byKeyboard) {
    if (this.savesOpen) this.closeSaves();
    else this.openSaves(byKeyboard);
  }

  openSaves(byKeyboard = false) {
    const el = this.el;
    if (!this.saves) return;
    this.hideShareLink(false);
    this.closePanel(false);
    this.renderSaves();
    el.savesPanel.hidden = false;
    el.savesBtn.setAttribute('aria-expanded', 'true');
    el.player.classList.add('panel-open');
    this.showBar();
    this.refreshSaves();
    // Keyboard users land in the panel; a mouse click leaves keys to the game.
    if (byKeyboard) (el.saveSlots.querySelector('button:not(:disabled)') ?? $('saves-panel-close')).focus({ preventScroll: true });
    else el.player.focus({ preventScroll: true });
  }

  closeSaves(refocus = true) {
    const el = this.el;
    clearTimeout(this.savesTimer);
    if (el.savesPanel.hidden) return;
    const inside = el.savesPanel.contains(document.activeElement);
    el.savesPanel.hidden = true;
    el.savesBtn.setAttribute('aria-expanded', 'false');
    el.player.classList.remove('panel-open');
    if (refocus && inside && this.view === 'player') el.player.focus({ preventScroll: true });
  }

  /** "3 min ago" moves on while the panel is open. */
  refreshSaves() {
    clearTimeout(this.savesTimer);
    this.savesTimer = setTimeout(() => {
      if (!this.savesOpen) return;
      this.renderSaves();
      this.refreshSaves();
    }, AGE_REFRESH_MS);
  }

  /** The offer to continue from save, over the picture, for ms. */
  showContinue(save, ms) {
    const el = this.el;
    const thumb = el.resumeThumb;
    thumb.hidden = !save.thumbnail;
    if (save.thumbnail) thumb.src = save.thumbnail;
    el.resumeMeta.textContent = `${slotName(save.slot)} · ${saveAge(save.time)}`;
    el.resumeMeta.title = new Date(save.time).toLocaleString();
    // The bar that runs out with the offer starts again from full.
    el.resumeTimer.style.animation = 'none';
    el.resumeTimer.style.setProperty('--continue-ms', `${ms}ms`);
    el.resume.hidden = false;
    void el.resumeTimer.offsetWidth;
    el.resumeTimer.style.animation = '';
    this.announce(`Continue from ${slotName(save.slot).toLowerCase()}, saved ${saveAge(save.time)}? Continue, or New game.`);
    // Enter answers the question on a keyboard; on a phone a focus ring
    // is only noise.
    if (this.desktop) el.resumeBtn.focus({ preventScroll: true });
  }

  hideContinue() {
    const el = this.el;
    if (el.resume.hidden) return;
    const inside = el.resume.contains(document.activeElement);
    el.resume.hidden = true;
    el.resumeThumb.removeAttribute('src');
    if (inside && this.view === 'player') el.player.focus({ preventScroll: true });
  }

  // ---- the player code ----

  setPlayer(id) {
    const input = this.el.playerId;
    input.value = id;
    input.size = Math.max(16, id.length);
  }

  /** The code, selected, for copying by hand when the clipboard is out of reach. */
  selectPlayer() {
    const input = this.el.playerId;
    input.focus({ preventScroll: true });
    input.select();
  }

  openImport() {
    const el = this.el;
    el.playerImport.hidden = false;
    el.playerChange.setAttribute('aria-expanded', 'true');
    this.setImportError('');
    el.playerImportInput.focus({ preventScroll: true });
  }

  closeImport(refocus = true) {
    const el = this.el;
    if (el.playerImport.hidden) return;
    const inside = el.playerImport.contains(document.activeElement);
    el.playerImport.hidden = true;
    el.playerImportInput.value = '';
    this.setImportError('');
    el.playerChange.setAttribute('aria-expanded', 'false');
    if (refocus && inside) el.playerChange.focus({ preventScroll: true });
  }

  /** Why a pasted code was refused; empty clears it. */
  setImportError(text) {
    const el = this.el;
    el.playerImportError.textContent = text;
    el.playerImportError.hidden = !text;
    if (text) {
      el.playerImportInput.setAttribute('aria-invalid', 'true');
      el.playerImportInput.focus({ preventScroll: true });
    } else {
      el.playerImportInput.removeAttribute('aria-invalid');
    }
  }

  /** The link, selected, for copying by hand when the clipboard is out of reach. */
  showShareLink(link) {
    const el = this.el;
    el.shareLink.value = link;
    el.sharePop.hidden = false;
    this.showBar();
    el.shareLink.focus({ preventScroll: true });
    el.shareLink.select();
  }

  hideShareLink(refocus = true) {
    const el = this.el;
    if (el.sharePop.hidden) return;
    const inside = el.sharePop.contains(document.activeElement);
    el.sharePop.hidden = true;
    if (refocus && inside && this.view === 'player') el.player.focus({ preventScroll: true });
  }

  /** A short note that goes by itself: "Link copied", a refused slot. */
  toast(text) {
    const t = this.el.toast;
    clearTimeout(this.toastTimer);
    t.textContent = text;
    t.hidden = false;
    this.toastTimer = setTimeout(() => { t.hidden = true; }, TOAST_MS);
  }

  // ---- servers and zones ----

  /**
   * Draws the servers panel. view: { workers, pick, zone } where workers
   * are workers.js workers with measuring (bool) and rtt (ms, null out of
   * reach, undefined not measured), pick the worker picked by hand ('' for
   * automatic) and zone the one the address asks for ('' for any).
   */
  setWorkers(view) {
    this.workers = view;
    const el = this.el;
    el.serversLabel.textContent = view.pick ? `Servers: ${view.pick}` : 'Servers';
    el.serversBtn.title = view.pick ? `New games start on server ${view.pick}, picked by hand` : '';
    this.renderServers();
  }

  renderServers() {
    const el = this.el;
    const v = this.workers;
    if (!v) return;
    const focused = document.activeElement?.closest?.('#server-rows input')?.value;
    const best = fastest(v.workers);
    const row = (id, name, meta, extra) => {
      const label = document.createElement('label');
      label.className = 'server';
      label.dataset.worker = id;
      const radio = document.createElement('input');
      radio.type = 'radio';
      radio.name = 'server';
      radio.value = id;
      radio.checked = v.pick === id;
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
      extra?.({ label, radio, title });
      return label;
    };
    const rows = [row('', 'Automatic', v.zone ? `The fastest with room, in ${v.zone} when one there has room` : 'The fastest with room')];
    for (const w of v.workers) {
      rows.push(row(w.id, w.id, loadLabel(w), ({ label, radio, title }) => {
        const tags = [];
        if (w.zone) tags.push(Object.assign(document.createElement('span'), { className: 'badge', textContent: w.zone }));
        if (w.draining) tags.push(Object.assign(document.createElement('span'), { className: 'flag', textContent: 'Draining' }));
        else if (full(w)) tags.push(Object.assign(document.createElement('span'), { className: 'flag', textContent: 'Full' }));
        if (w.id === best) tags.push(Object.assign(document.createElement('span'), { className: 'save-tag', textContent: 'Fastest' }));
        title.append(...tags);
        const rtt = document.createElement('span');
        rtt.className = 'server-rtt';
        rtt.textContent = rttLabel(w);
        if (typeof w.rtt === 'number' && !w.measuring) rtt.dataset.quality = rttQuality(w.rtt);
        else rtt.dataset.state = w.measuring ? 'measuring' : w.rtt === null ? 'unreachable' : 'none';
        label.append(rtt);
        // Draining takes no new rooms: there is nothing to try.
        radio.disabled = w.draining;
        if (w.draining) label.title = 'Draining: it takes no new games';
        radio.setAttribute('aria-label', `${w.id}${w.zone ? `, ${w.zone}` : ''}: ${loadLabel(w)}${w.draining ? ', draining' : ''}, ${rttLabel(w)}`);
      }));
    }
    el.serverRows.replaceChildren(...rows);
    if (v.workers.length === 0) {
      el.serverRows.append(Object.assign(document.createElement('p'), { className: 'muted small', textContent: 'No game server is connected right now.' }));
    }
    if (focused !== undefined) {
      (el.serverRows.querySelector(`input[value="${CSS.escape(focused)}"]:not(:disabled)`) ?? el.serverRows.querySelector('input:checked'))?.focus({ preventScroll: true });
    }
  }

  get serversOpen() {
    return this.el.servers.open;
  }

  openServers() {
    const d = this.el.servers;
    if (d.open || this.view !== 'list') return;
    this.renderServers();
    d.showModal();
    d.querySelector('#server-rows input:checked')?.focus({ preventScroll: true });
  }

  closeServers() {
    const d = this.el.servers;
    if (!d.open) return;
    d.close();
    if (this.view === 'list') this.el.serversBtn.focus({ preventScroll: true });
  }

  /**
   * The region choice on the list, shown only where the servers are in
   * more than one zone. zone is the one the address asks for: an option
   * even if no server has it now, so the field says what is asked.
   */
  setZones(zones, zone) {
    const el = this.el;
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

  // ---- help ----

  get helpOpen() {
    return this.el.help.open;
  }

  openHelp() {
    const d = this.el.help;
    if (d.open) return;
    d.showModal();
    this.actions.helpChanged(true);
  }

  closeHelp() {
    const d = this.el.help;
    if (d.open) d.close(); // fires "close", which reports it
    if (this.view === 'player') this.el.player.focus({ preventScroll: true });
  }

  /** The key table, from the same bindings the keyboard handler uses. */
  renderHelp(layout) {
    const keyName = (code) => {
      if (code.startsWith('Arrow')) return { ArrowUp: '↑', ArrowDown: '↓', ArrowLeft: '←', ArrowRight: '→' }[code];
      if (code.startsWith('Shift')) return 'Shift';
      if (code === 'Enter') return 'Enter';
      return (layout?.get(code) || code.replace(/^Key/, '')).toUpperCase();
    };
    const buttonName = { START: 'Start', SELECT: 'Select' };
    const rows = [{ codes: ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight'], label: 'D-pad' }];
    for (const b of KEY_BINDINGS) {
      if (!b.codes[0].startsWith('Arrow')) rows.push({ codes: [b.codes[0]], label: buttonName[b.button] ?? b.button });
    }
    this.el.helpKeys.replaceChildren(...rows.map((r) => {
      const tr = document.createElement('tr');
      const keys = document.createElement('td');
      for (const c of r.codes) {
        const k = document.createElement('kbd');
        k.textContent = keyName(c);
        keys.append(k, ' ');
      }
      const label = document.createElement('td');
      label.textContent = r.label;
      tr.append(keys, label);
      return tr;
    }));
  }
}
