// The time from the player's press to its picture, split where it goes:
// the way to the server, the server (the next frame, its encoding), the way
// back, and the page's own display. Pure, like the rest of model/.
//
// The worker echoes each pad state once the first picture that shows it has
// gone out (pad.Echo): the state's number, how long the worker held it, and
// the picture's number on the room's video track. requestVideoFrameCallback
// gives each frame's RTP timestamp, which advances by a frame's ticks
// (90 kHz / fps) a picture from a base the page cannot know; and its
// receipt (taken by the network thread, exact) and display time, on the
// page's own clock. The base is learnt from the echoes themselves: the
// worker writes the picture just before its echo, so the picture is the
// last frame received before the echo arrives, when the echo is read at
// once. The echo's arrival is read on the main thread, which may be late,
// so a base counts once two echoes agree on it; from then on each echo's
// picture is the frame with its timestamp, exactly. A picture the page
// gave no callback (a busy page skips some) is no press counted. The
// page's and the worker's clocks are never compared: the way there is half
// the echo's round trip less the worker's time, which the worker measured
// itself.

/** An echo's first byte (pad.KindEcho), apart from any pad state's version. */
export const KIND_ECHO = 0x81;
const ECHO_SIZE = 13;
const RTP_HZ = 90000;
// An echo read this soon after a frame came is read at once: that frame is
// its picture, to learn the base from.
const PROMPT_MS = 4;
// The echo leaves just after its picture, yet a picture's last packet may
// come a little after the echo.
const SLACK_MS = 3;
const SENT_KEPT = 64; // states awaiting their echo; the channel's numbers restart with it
const PENDING_KEPT = 8;
const FRAMES_KEPT = 16;
const VOTES_KEPT = 8;

/** An echo (u8 0x81, u32 seq, u32 µs, u32 frame) as { seq, workerMs, frame }, or null for any other message. */
export function decodeEcho(data) {
  if (!(data instanceof ArrayBuffer) || data.byteLength !== ECHO_SIZE) return null;
  const v = new DataView(data);
  if (v.getUint8(0) !== KIND_ECHO) return null;
  return { seq: v.getUint32(1), workerMs: v.getUint32(5) / 1000, frame: v.getUint32(9) };
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

  /** A new input channel: its states are numbered from 1 again, and its pictures may be another track's. */
  reset() {
    this.sentAt = new Map(); // seq -> when the player did it (performance.now())
    this.pending = []; // echoes whose picture is not known yet, oldest first
    this.frames = []; // the last frames called back: { rtp, receiveTime, expectedDisplayTime }
    this.base = null; // the RTP timestamp of the track's picture 0, once learnt
    this.votes = []; // the bases echoes named: { base, count }
    this.samples = [];
  }

  /** The game's frame rate (started.fps): a picture's RTP ticks. */
  set fps(fps) {
    this.ticks = Number.isFinite(fps) && fps > 0 ? RTP_HZ / fps : 0;
  }

  /** A pad state left the page; at: when the player did it. */
  sent(seq, at) {
    if (this.sentAt.has(seq)) return;
    this.sentAt.set(seq, at);
    if (this.sentAt.size > SENT_KEPT) this.sentAt.delete(this.sentAt.keys().next().value);
  }

  /** Its echo was read at time at. */
  echo({ seq, workerMs, frame }, at) {
    const sentAt = this.sentAt.get(seq);
    if (sentAt === undefined) return; // from before this channel, or a state long gone
    this.sentAt.delete(seq);
    this.pending.push({ seq, sentAt, echoAt: at, workerMs, frame });
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

  // An echo read at once names the base: its picture is the frame received
  // at most PROMPT_MS before it was read (frames come a frame's time
  // apart, so there is one at most). But one read a frame late names the
  // frame after its picture, and nothing tells the two apart: so every
  // echo votes, and the base is the one named most, twice at least and
  // more often than any other. A page is rarely late by just the time
  // that fools it (13-21 ms), and never most of the time.
  learn(p) {
    const f = this.frames.find((x) => x.receiveTime >= p.echoAt - PROMPT_MS && x.receiveTime <= p.echoAt + SLACK_MS);
    if (!f) return;
    p.learnt = true;
    const base = (f.rtp - Math.round(p.frame * this.ticks)) >>> 0;
    const vote = this.votes.find((v) => Math.abs(rtpDiff(base, v.base)) < this.ticks / 4);
    if (vote) vote.count++;
    else this.votes.push({ base, count: 1 });
    this.votes.sort((a, b) => b.count - a.count);
    this.votes.length = Math.min(this.votes.length, VOTES_KEPT);
    const [first, second] = this.votes;
    if (first.count >= 2 && first.count > (second?.count ?? 0)) this.base = first.base;
  }

  // Each echo whose picture has been called back, or never will be.
  settle() {
    if (!this.ticks) return;
    for (const p of this.pending) if (!p.learnt) this.learn(p);
    if (this.base === null) {
      // Those whose frames are past are of no more use.
      const newest = this.frames.at(-1)?.receiveTime ?? -Infinity;
      this.pending = this.pending.filter((p) => newest <= p.echoAt + 100);
      return;
    }
    while (this.pending.length) {
      const p = this.pending[0];
      const want = (this.base + Math.round(p.frame * this.ticks)) >>> 0;
      const answer = this.frames.find((f) => Math.abs(rtpDiff(f.rtp, want)) < this.ticks / 2);
      const newest = this.frames.at(-1);
      if (!answer && (!newest || rtpDiff(newest.rtp, want) < 0)) return; // still to come
      this.pending.shift();
      if (answer) this.add(p, answer);
    }
  }

  add(p, answer) {
    // Both ways: half the echo's round trip each, as far as the picture's
    // receipt leaves room for (the two ways are never quite equal), so
    // that the parts add up to the whole.
    const travel = Math.max(0, answer.receiveTime - p.sentAt - p.workerMs);
    const up = Math.min(travel, Math.max(0, (p.echoAt - p.sentAt - p.workerMs) / 2));
    this.samples.push({
      seq: p.seq,
      total: answer.expectedDisplayTime - p.sentAt,
      up,
      worker: p.workerMs,
      down: travel - up,
      display: answer.expectedDisplayTime - answer.receiveTime,
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
