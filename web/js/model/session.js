// One game session: this page in one room, from "start" or "join" until it
// ends, as data, and what the server's messages do to it. Pure functions;
// the flows send, wait and tear down around them.

import { freeSlot, holders, me, memberName, validGame, validRoomState } from './room.js';
import { saveMoment, savable, validSave, validSaves } from './saves.js';

/** How long Continue is offered over a game just started, in ms. */
export const CONTINUE_MS = 20_000;

// Refusals of a save or a load; any other refusal answers a seat request.
const SAVE_REFUSALS = new Set(['no_player', 'not_playing', 'no_save', 'bad_save', 'save_failed']);

/**
 * A session as "start" or "join" begins it. kind: 'start' | 'join'; game
 * (null for a join whose game is not known yet); ref: the reference the
 * server puts on its messages; nick: the name sent with it.
 */
export function newSession({ kind, game, ref, nick }) {
  return {
    kind,
    game,
    ref,
    // The worker picked by hand for a start, '' when the coordinator chose.
    worker: '',
    // The room's id once known, its newest state (room.js), this page's
    // own slot (the starter holds 1, a joiner watches) until a state says,
    // the slot to ask for back after a lost connection, and the seat
    // request on its way (its slot, or null).
    roomId: null,
    roomState: null,
    slot: kind === 'start' ? 1 : 0,
    wantSlot: 0,
    seatPending: null,
    nickSent: nick,
    // The player's saves of the game, newest first (null until listed);
    // the save Continue offers (undefined: not known yet, null: nothing)
    // and whether it shows; the save and load on their way (slot or null,
    // and since when); the save file on its way ({ kind: 'download' |
    // 'upload', slot } or null).
    saves: null,
    offer: undefined,
    offerShown: false,
    saving: null,
    savingSince: 0,
    loading: null,
    loadingSince: 0,
    transferring: null,
    // The game runs ("started"): its picture's aspect, and the secret
    // that carries the session over a new socket. resuming: the socket is
    // away while the game plays on ({ attempt, since }); resumeSent: the
    // "resume" went, unanswered yet.
    started: false,
    aspect: 0,
    resumeToken: null,
    resuming: null,
    resumeSent: false,
    // live: the server may hold this session, so leaving it says "quit".
    // The peer connection: its input channel open, the first picture in,
    // ICE wavering; losing: the session is being given up.
    live: true,
    channelOpen: false,
    frame: false,
    unstable: false,
    losing: false,
    // performance.now() of the peer's "connected" and of the first picture
    // presented, for the test hook.
    connectedAt: null,
    firstFrameAt: null,
  };
}

/**
 * state with its session changed by change (fields to merge, or a
 * function of the session), if it is the session ref (any, for no ref).
 */
export function updateSession(state, ref, change) {
  const s = state.session;
  if (!s || (ref && s.ref !== ref)) return state;
  return { ...state, session: typeof change === 'function' ? change(s) : { ...s, ...change } };
}

/** A spectator: keys and touches move nothing, so the pad gives way to a hint. */
export function watching(s) {
  return !!s && (s.kind === 'join' || s.roomState !== null) && s.slot === 0;
}

/** Own slot (0 watching), or null outside a room. */
export function ownSlot(s) {
  return s?.roomId ? s.slot : null;
}

/** The session once the game runs: "started" names the game, its picture and the secret to resume with. */
export function started(s, data) {
  const game = validGame(data.game);
  const aspect = Number(data.aspect) > 0 ? Number(data.aspect) : Number(data.width) / Number(data.height);
  return {
    ...s,
    started: true,
    resumeToken: typeof data.resume === 'string' && data.resume ? data.resume : null,
    game: {
      id: game?.id ?? s.game?.id ?? '',
      title: game?.title ?? s.game?.title ?? 'Game',
      system: game?.system || s.game?.system || '',
    },
    aspect,
  };
}

/**
 * A "room" message: who is in the room, after every change. Returns
 * { session, ignored: '' | 'invalid' | 'stale', moved, retake }: moved
 * when this page's slot changed from one it already knew, retake the
 * slot to ask for back (held before a lost connection, and free), or 0.
 * States can overtake each other on the way: only a newer one counts.
 */
export function roomReceived(s, data) {
  const resumed = s.resumeSent ? { ...s, resumeSent: false } : s;
  const state = validRoomState(data);
  if (!state) return { session: resumed, ignored: 'invalid', moved: false, retake: 0 };
  if (s.roomState && state.id === s.roomState.id && state.rev <= s.roomState.rev) {
    return { session: resumed, ignored: 'stale', moved: false, retake: 0 };
  }
  const slot = me(state)?.slot ?? 0;
  const next = {
    ...resumed,
    roomState: state,
    roomId: state.id,
    game: s.game ?? state.game,
    slot,
    seatPending: s.seatPending !== null && slot === s.seatPending ? null : s.seatPending,
  };
  // Back after a lost connection: ask for the slot held before, if free.
  let retake = 0;
  if (s.wantSlot > 0 && slot === 0) {
    next.wantSlot = 0;
    if (state.crowd || holders(state, s.wantSlot).length === 0) retake = s.wantSlot;
  } else if (s.controller && !s.roomState && slot === 0) {
    // A controller page is there to play: the first free controller, once.
    retake = freeSlot(state);
  }
  return { session: next, ignored: '', moved: s.roomState !== null && slot !== s.slot, retake };
}

/** What a player reads when the server moved them: "You are player 2", "You are watching". */
export function slotNotice(slot) {
  return slot > 0 ? `You are player ${slot}` : 'You are watching';
}

/**
 * A "saves" message: the player's saves of this game. Only the first list
 * decides Continue, and only for a starter: a save made since is not a
 * game to continue, and a joiner's room plays on from where it is. A list
 * that says it follows a save answers that save.
 */
export function savesReceived(s, data) {
  const saves = validSaves(data.saves);
  const next = { ...s, saves };
  if (s.offer === undefined) next.offer = s.kind === 'start' ? (saves[0] ?? null) : null;
  if (savable(data.saved) && s.saving === data.saved) next.saving = null;
  return next;
}

/**
 * Which request a "refused" answers: 'save', 'load' or 'seat'. Refusals
 * carry no request id: a save's or load's answers the older of the two on
 * their way, since the server handles a session's requests in order.
 */
export function refusalAnswers(s, code) {
  if (!SAVE_REFUSALS.has(code)) return 'seat';
  return s.saving !== null && (s.loading === null || s.savingSince <= s.loadingSince) ? 'save' : 'load';
}

/**
 * A "loaded" message: someone in the room (this page too) loaded a save.
 * { mine, text }: whether it answers this page's load, and what to tell
 * the player ("Alice loaded the save of 14:02").
 */
/** The words for "was_reset": who restarted the room's game. */
export function resetNotice(s, data) {
  const by = typeof data.by === 'string' ? data.by : '';
  if (s.roomState && by === s.roomState.you) return 'You restarted the game';
  const member = s.roomState?.members.find((m) => m.id === by);
  return `${member ? memberName(member) : 'Someone'} restarted the game`;
}

export function loadedNotice(s, data, now = Date.now()) {
  const save = validSave(data.save);
  const by = typeof data.by === 'string' ? data.by : '';
  const mine = !!s.roomState && by === s.roomState.you;
  const what = save ? `the save of ${saveMoment(save.time, now)}` : 'a save';
  if (mine) return { mine, text: `Loaded ${what}` };
  const member = s.roomState?.members.find((m) => m.id === by);
  return { mine, text: `${member ? memberName(member) : 'Someone'} loaded ${what}` };
}
