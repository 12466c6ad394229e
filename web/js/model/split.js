// The time from the player's press to its picture, split where it goes:
// the way to the server, the server (the next frame, its encoding), the way
// back, and the page's own display. Pure, like the rest of model/.
//
// The worker echoes each pad state once the first picture that shows it has
// gone out (pad.Echo): the state's number, how long the worker held it, and
// the picture's RTP timestamp, which the worker counts as the track assigns
// them. requestVideoFrameCallback gives each frame's RTP timestamp, its
// receipt (taken by the network thread) and its display time, on the
// page's own clock: so the picture is found exactly, however late the page
// reads the echo. A picture the page gave no callback (a busy page skips
// some) is no press counted. The page's and the worker's clocks are never
// compared: the way there is half the echo's round trip less the worker's
// time, which the worker measured itself.

/** An echo's first byte (pad.KindEcho), apart from any pad state's version. */
export const KIND_ECHO = 0x81;
const ECHO_SIZE = 13;
const SENT_KEPT = 64; // states awaiting their echo; the channel's numbers restart with it
const PENDING_KEPT = 8;
const FRAMES_KEPT = 16;

/** An echo (u8 0x81, u32 seq, u32 µs, u32 RTP timestamp) as { seq, workerMs, rtp }, or null for any other message. */
export function decodeEcho(data) {
  if (!(data instanceof ArrayBuffer) || data.byteLength !== ECHO_SIZE) return null;
  const v = new DataView(data);
  if (v.getUint8(0) !== KIND_ECHO) return null;
  return { seq: v.getUint32(1), workerMs: v.getUint32(5) / 1000, rtp: v.getUint32(9) };
}

// a − b between RTP timestamps, which wrap at 2^32.
function rtpDiff(a, b) {
  return ((a - b + 2 ** 31) >>> 0) - 2 ** 31;
}

export class InputSplit {
  /** keep: how many presses the figures are the medians of. */
  constructor({ keep = 15 } = {}) {
    this.keep = keep;
    this.reset();
  }

  /** A new input channel: its states are numbered from 1 again. */
  reset() {
    this.sentAt = new Map(); // seq -> when the player did it (performance.now())
    this.pending = []; // echoes whose picture has not been called back yet, oldest first
    this.frames = []; // the last frames called back: { rtp, receiveTime, expectedDisplayTime }
    this.samples = [];
  }

  /** A pad state left the page; at: when the player did it. */
  sent(seq, at) {
    if (this.sentAt.has(seq)) return;
    this.sentAt.set(seq, at);
    if (this.sentAt.size > SENT_KEPT) this.sentAt.delete(this.sentAt.keys().next().value);
  }

  /** Its echo was read at time at. */
  echo({ seq, workerMs, rtp }, at) {
    const sentAt = this.sentAt.get(seq);
    if (sentAt === undefined) return; // from before this channel, or a state long gone
    this.sentAt.delete(seq);
    this.pending.push({ seq, sentAt, echoAt: at, workerMs, rtp });
    if (this.pending.length > PENDING_KEPT) this.pending.shift();
    this.settle();
  }

  /** A video frame, from requestVideoFrameCallback's metadata (rtpTimestamp, receiveTime, expectedDisplayTime). */
  frame({ rtpTimestamp, receiveTime, expectedDisplayTime }) {
    if (!Number.isFinite(rtpTimestamp) || !Number.isFinite(receiveTime) || !Number.isFinite(expectedDisplayTime)) return;
    this.frames.push({ rtp: rtpTimestamp, receiveTime, expectedDisplayTime });
    if (this.frames.length > FRAMES_KEPT) this.frames.shift();
    this.settle();
  }

  // Each echo whose picture has been called back, or never will be: a
  // frame after it was.
  settle() {
    this.pending = this.pending.filter((p) => {
      const answer = this.frames.find((f) => f.rtp === p.rtp);
      if (answer) this.add(p, answer);
      const newest = this.frames.at(-1);
      return !answer && !(newest && rtpDiff(newest.rtp, p.rtp) > 0);
    });
  }

  add(p, answer) {
    // The worker's own time, as far as the picture's receipt leaves room
    // for: on a busy machine the worker's clock can count a little more
    // than the page saw pass between the press and the picture.
    const worker = Math.min(p.workerMs, Math.max(0, answer.receiveTime - p.sentAt));
    // Both ways: half the echo's round trip each, as far as the picture's
    // receipt leaves room for (the two ways are never quite equal), so
    // that the parts add up to the whole.
    const travel = Math.max(0, answer.receiveTime - p.sentAt - worker);
    const up = Math.min(travel, Math.max(0, (p.echoAt - p.sentAt - worker) / 2));
    // Chromium's expected display time can come a tenth of a millisecond
    // before the frame's receipt: no picture is shown before it came.
    const shown = Math.max(answer.expectedDisplayTime, answer.receiveTime);
    this.samples.push({
      seq: p.seq,
      total: shown - p.sentAt,
      up,
      worker,
      down: travel - up,
      display: shown - answer.receiveTime,
    });
    if (this.samples.length > this.keep) this.samples.shift();
  }

  /** The last presses' splits, oldest first: { seq, total, up, worker, down, display } each. */
  presses() {
    return this.samples.map((s) => ({ ...s }));
  }

  /** The medians of the last presses: { total, up, worker, down, display, count }, or null before the first. */
  summary() {
    if (this.samples.length === 0) return null;
    const median = (key) => {
      const v = this.samples.map((s) => s[key]).sort((a, b) => a - b);
      const mid = v.length >> 1;
      return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
    };
    return {
      total: median('total'), up: median('up'), worker: median('worker'), down: median('down'), display: median('display'),
      count: this.samples.length,
    };
  }
}
