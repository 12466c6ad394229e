// What the page tells the server about its display: how long a received
// frame waits before it is shown (requestVideoFrameCallback's
// expectedDisplayTime less its receiveTime). A frame that waits is a
// frame the server could have made later, with fresher input, and still
// had shown as soon: the worker moves its frame loop's phase by the
// wait, less a margin (frame_phase "display").
//
// Pure: the meter takes the callback's metadata and gives the report;
// the page sends it on the input channel (pad.sendReport).

/** How many of the newest frames a report covers: about a second. */
export const WINDOW = 60;
/** How often the page reports, in ms. */
export const REPORT_MS = 2000;
/** The slack a report gives: the one 90 % of the frames have at least. */
export const QUANTILE = 0.1;
/** Report message: u8 kind (0x80: no pad version has the high bit), u32 slack in µs, u16 frames; big-endian. */
export const REPORT_KIND = 0x80;
export const REPORT_SIZE = 7;

/**
 * One frame's wait in ms between its arrival and its display, or null
 * when the metadata lacks either time (not a WebRTC frame) or says
 * nonsense (shown before it came, or a second after).
 */
export function slackOf(meta) {
  const recv = meta?.receiveTime;
  const shown = meta?.expectedDisplayTime;
  if (typeof recv !== 'number' || typeof shown !== 'number' || !Number.isFinite(recv) || !Number.isFinite(shown) || recv <= 0) return null;
  const slack = shown - recv;
  return slack >= 0 && slack < 1000 ? slack : null;
}

/** The q-quantile of values (nearest rank), or null for none. */
export function quantile(values, q) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))))];
}

/**
 * The slack of the newest frames. The report is a low quantile, not the
 * median: the phase it leads to leaves every frame with the margin
 * only, and a frame that came later than most would then miss its
 * refresh, and the next frame would push it out unseen. Judder is worse
 * than a millisecond of lag.
 */
export class SlackMeter {
  constructor(window = WINDOW) {
    this.window = window;
    this.values = [];
  }

  /** Takes one video frame callback's metadata. */
  add(meta) {
    const s = slackOf(meta);
    if (s === null) return;
    this.values.push(s);
    if (this.values.length > this.window) this.values.shift();
  }

  /** { slackMs, frames }, or null before any frame. */
  report() {
    const slackMs = quantile(this.values, QUANTILE);
    return slackMs === null ? null : { slackMs, frames: this.values.length };
  }
}

/** Writes a report into a DataView of REPORT_SIZE bytes. */
export function encodeReport(view, { slackMs, frames }) {
  view.setUint8(0, REPORT_KIND);
  view.setUint32(1, Math.min(999_999, Math.max(0, Math.round(slackMs * 1000))));
  view.setUint16(5, Math.min(0xffff, Math.max(0, frames)));
}
