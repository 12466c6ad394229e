// This page in its room: who is there (the "room" message), the player
// slot it holds, and asking for another. Taking a slot is a request the
// room may refuse ("refused", saving.js passes it on); its buttons wait
// for the answer, or for 5 s.

import { roomReceived, slotNotice, updateSession } from '../model/session.js';
import { remember, withToast } from '../model/state.js';

const SEAT_TIMEOUT_MS = 5000; // a seat request unanswered this long frees its buttons again

export function createSeat(app) {
  const { store } = app;
  let seatTimer = 0;

  /** "room": the room's state after every change. */
  function received(data) {
    const before = store.get().session;
    if (!before) return;
    if (before.resumeSent) console.info('telecart: session resumed');
    const { session: s, ignored, moved, retake } = roomReceived(before, data);
    if (ignored === 'invalid') console.warn('telecart: ignoring a room state that cannot be shown', data);
    store.update((st) => {
      let next = { ...st, session: s };
      if (ignored) return next;
      if (!before.game && s.game) next = remember(next, { game: s.game });
      next = remember(next, { slot: s.slot });
      // A controller page says which player it is in large letters already.
      return moved && !st.controller ? withToast(next, slotNotice(s.slot)) : next;
    });
    if (ignored) return;
    if (before.seatPending !== null && s.seatPending === null) clearTimeout(seatTimer);
    app.game.inRoom(s.roomId);
    if (retake) seat(retake);
  }

  /** Takes player slot 1-4, or gives the slot up with 0. */
  function seat(slot) {
    const s = store.get().session;
    if (!s?.live || !s.roomState || slot === s.slot || s.seatPending !== null) return;
    app.connection.send('seat', { slot }, s.ref);
    store.update((st) => updateSession(st, s.ref, { seatPending: slot }));
    clearTimeout(seatTimer);
    seatTimer = setTimeout(() => answered(s.ref), SEAT_TIMEOUT_MS);
  }

  /** The seat request of session ref was answered, refused, or waited for long enough. */
  function answered(ref) {
    clearTimeout(seatTimer);
    store.update((st) => updateSession(st, ref, { seatPending: null }));
  }

  return { received, seat, answered };
}
