// What the pad sends on the "input" channel, and when. Pure functions.
//
// The channel is unordered and never retransmits: a late state is worse
// than none. So loss is repaired by redundancy: each change is sent at
// once, then again 8, 24 and 56 ms later, each message carrying the last
// four states (newest first), so that a press lost with its own messages
// still arrives, before its release, in the release's. Then the newest
// state alone goes out every 100 ms, held or not: if every copy of a
// release was lost, the next repeat releases the button. The server
// applies each state once, in seq order (internal/pad).
//
// Version 2 message, big-endian: u8 version (2), u8 count (1-4), then
// count × (u32 seq, u16 buttons, i16 × 4 axes), newest first.

export const VERSION = 2;
export const MAX_STATES = 4;
export const STATE_SIZE = 4 + 2 + 4 * 2;
/** When the copies of a change go out, in ms after it. */
export const COPIES_MS = Object.freeze([8, 24, 56]);
/** The pace of the newest state's repeats once the copies are out. */
export const REPEAT_MS = 100;

/**
 * The states a message carries after a new one: it in front, then the
 * ones before it, MAX_STATES in all at most.
 * @param {Array<{seq:number, buttons:number, axes:number[]}>} history newest first
 */
export function remember(history, state) {
  return [state, ...history].slice(0, MAX_STATES);
}

/** The next sequence number after seq, wrapping at 2^32 as the server expects. */
export function nextSeq(seq) {
  return (seq + 1) >>> 0;
}

/**
 * The wait before the next message, after `sent` messages since the last
 * change (1 after the change's own), and whether that one is a copy (the
 * whole history) or a repeat (the newest state alone).
 */
export function nextSend(sent) {
  if (sent <= COPIES_MS.length) {
    return { delay: COPIES_MS[sent - 1] - (sent > 1 ? COPIES_MS[sent - 2] : 0), copy: true };
  }
  return { delay: REPEAT_MS, copy: false };
}

/** Encodes states, newest first, as one version 2 message. */
export function encode(states) {
  if (states.length < 1 || states.length > MAX_STATES) throw new RangeError(`${states.length} pad states in one message`);
  const buffer = new ArrayBuffer(2 + states.length * STATE_SIZE);
  const v = new DataView(buffer);
  v.setUint8(0, VERSION);
  v.setUint8(1, states.length);
  states.forEach((s, i) => {
    const at = 2 + i * STATE_SIZE;
    v.setUint32(at, s.seq >>> 0);
    v.setUint16(at + 4, s.buttons & 0xffff);
    for (let a = 0; a < 4; a++) v.setInt16(at + 6 + 2 * a, s.axes[a]);
  });
  return buffer;
}
