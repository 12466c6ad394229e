// The address bar: /r/ROOM while in a room, so the link can be shared and
// reopened, and / on the game list; Back and Forward move between them.
// The query (?zone=, ?debug) goes along everywhere, and the zone it names
// is copied into the state whenever the address changes.

import { controllerFromPath, controllerPath, roomFromPath, roomPath } from '../model/room.js';
import { searchWithZone, zoneFromSearch } from '../model/workers.js';

export function createAddress(app) {
  const { store } = app;
  let awaitingPop = false; // our own history.back() is on its way

  // Back and Forward: the address says where to be, in turn with the server's messages.
  addEventListener('popstate', () => app.connection.enqueue(navigated));

  // The room an address names: a controller page's own, or a room's.
  const roomOf = (pathname) => (store.get().controller ? controllerFromPath(pathname) : roomFromPath(pathname));
  const pathOf = (id) => (store.get().controller ? controllerPath(id) : roomPath(id));

  /** The room the page was opened at, or null on the list (any other path becomes the list's). */
  function opened() {
    const room = roomOf(location.pathname);
    if (!room && location.pathname !== '/') history.replaceState(null, '', `/${location.search}`); // not an address of ours
    return room;
  }

  /** True when the address names room id. */
  function shows(id) {
    return roomOf(location.pathname) === id;
  }

  /**
   * In a room: its address, added after the list's or in place of a dead
   * room's.
   */
  function enter(id) {
    const path = pathOf(id);
    const overList = !!history.state?.overList;
    if (location.pathname === path || roomOf(location.pathname)) history.replaceState({ room: id, overList }, '', path + location.search);
    else history.pushState({ room: id, overList: true }, '', path + location.search);
  }

  /** On the list: back to its entry when the room's was added after it, else a new one. */
  function leave() {
    if (location.pathname === '/') return;
    if (history.state?.overList) {
      awaitingPop = true;
      history.back();
    } else {
      history.pushState(null, '', `/${location.search}`);
    }
  }

  /** A zone chosen on the list: it goes into the address, where a zone is kept. */
  function setZone(zone) {
    const search = searchWithZone(location.search, zone);
    if (search !== location.search) history.replaceState(history.state, '', location.pathname + search);
    store.update({ zone: zoneFromSearch(location.search) });
  }

  /** Back or Forward: join the room the address names, or leave for the list. */
  function navigated() {
    store.update({ zone: zoneFromSearch(location.search) }); // the entry's own query may name another zone
    if (awaitingPop) {
      awaitingPop = false;
      if (location.pathname === '/') return; // where the list already is
    }
    const st = store.get();
    if (st.phase === 'outdated') return;
    const room = roomOf(location.pathname);
    if (room) {
      if (st.session?.roomId === room) return;
      app.game.joinRoom(room);
    } else if (st.phase !== 'list') {
      if (st.phase === 'connecting' || st.phase === 'unreachable') store.update({ intent: null });
      app.game.quit();
    }
  }

  return { opened, shows, enter, leave, setZone };
}
