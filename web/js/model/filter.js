// The screen filters (CRT scanlines, an LCD's pixel grid): which one the
// player chose, the order the filter button goes through them in for a
// system, how strong each effect may be at a given scale, and the figures
// of what drawing it costs. Pure: the WebGL that draws it is filter.js's.

import { quantile } from './display.js';

/** The filters, in the button's order; off first, and off by default. */
export const FILTERS = Object.freeze(['off', 'crt', 'lcd']);

const LABELS = Object.freeze({ off: 'Off', crt: 'CRT', lcd: 'LCD' });

// Handheld systems had LCDs: their players are offered the grid first.
const LCD_SYSTEMS = new Set(['gb', 'gbc', 'gba']);

/** A stored or asked-for filter; anything unknown is off. */
export function parseFilter(value) {
  return typeof value === 'string' && FILTERS.includes(value) ? value : 'off';
}

/** The filter's name for the player: "Off", "CRT", "LCD". */
export function filterLabel(kind) {
  return LABELS[parseFilter(kind)];
}

/** The filter that suits a system's screen: its own kind of screen. */
export function suggestedFilter(system) {
  return LCD_SYSTEMS.has(system) ? 'lcd' : 'crt';
}

/**
 * The filter the button goes to from kind. From off it goes first to the
 * one that suits the system (a Game Boy's LCD, a console's TV), then the
 * other, then off again.
 */
export function nextFilter(kind, system) {
  const first = suggestedFilter(system);
  const order = ['off', first, first === 'crt' ? 'lcd' : 'crt'];
  return order[(order.indexOf(parseFilter(kind)) + 1) % order.length];
}

/**
 * How strongly a filter darkens its lines, 0 to 1, where the picture shows
 * scale device pixels for each of the game's pixels on that axis. A line
 * (a scanline's edge, a grid line) needs device pixels of its own: at
 * under two per game pixel every other row or column would be dark, a
 * moiré rather than a screen's texture, so the effect fades out below
 * three and is gone at two.
 */
export function strengthAt(scale) {
  if (!Number.isFinite(scale)) return 0;
  return Math.min(1, Math.max(0, scale - 2));
}

/**
 * The shader's parameters for a picture of the game's src size ({ width,
 * height } in the game's pixels) drawn on dst device pixels: the
 * strength across (x: columns, the LCD grid's) and down (y: scanlines and
 * the grid's rows). Null when either size is empty: nothing to draw yet.
 */
export function filterParams(src, dst) {
  if (!(src?.width > 0 && src?.height > 0 && dst?.width > 0 && dst?.height > 0)) return null;
  return {
    x: strengthAt(dst.width / src.width),
    y: strengthAt(dst.height / src.height),
  };
}

/** How many of the newest frames the cost covers: a few seconds of play. */
export const TIMES_WINDOW = 300;

/**
 * What drawing the filter costs a frame, in ms: from the video frame's
 * callback to the GPU's end of the draw, over the newest frames.
 */
export class FrameTimes {
  constructor(window = TIMES_WINDOW) {
    this.window = window;
    this.values = [];
  }

  /** Takes one frame's time in ms; a negative or non-finite one is dropped. */
  add(ms) {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.values.push(ms);
    if (this.values.length > this.window) this.values.shift();
  }

  clear() {
    this.values = [];
  }

  /** { medianMs, p95Ms, frames }, or null before any frame. */
  summary() {
    if (this.values.length === 0) return null;
    return { medianMs: quantile(this.values, 0.5), p95Ms: quantile(this.values, 0.95), frames: this.values.length };
  }
}

/** The stats overlay's line for the filter: "CRT · 0.4 ms (p95 0.6)", or null while off. */
export function filterLine(kind, summary) {
  if (parseFilter(kind) === 'off') return null;
  const ms = summary ? `${summary.medianMs.toFixed(1)} ms (p95 ${summary.p95Ms.toFixed(1)})` : '–';
  return ['Filter', `${filterLabel(kind)} · ${ms}`];
}

// Luma weights of red and blue for a frame's matrix; BT.601's for anything
// not named BT.709 (what a WebRTC stream's software decoder gives).
const LUMA = { bt709: [0.2126, 0.0722] };
const LUMA_601 = [0.299, 0.114];

/**
 * The conversion of a frame's Y, U, V (0 to 1, as a texture reads them)
 * to red, green, blue, for its VideoFrame colorSpace ({ matrix,
 * fullRange }): rgb = matrix × (yuv - offset), the matrix in WebGL's
 * column-major order (uniformMatrix3fv). Limited range (16-235 for Y,
 * 16-240 for chroma) unless fullRange says otherwise.
 */
export function yuvToRgb(colorSpace) {
  const [kr, kb] = LUMA[colorSpace?.matrix] ?? LUMA_601;
  const kg = 1 - kr - kb;
  const full = colorSpace?.fullRange === true;
  const ys = full ? 1 : 255 / 219;
  const cs = full ? 1 : 255 / 224;
  return {
    matrix: [
      ys, ys, ys, // Y's share of red, green, blue
      0, (-cs * 2 * kb * (1 - kb)) / kg, cs * 2 * (1 - kb), // U's
      cs * 2 * (1 - kr), (-cs * 2 * kr * (1 - kr)) / kg, 0, // V's
    ],
    offset: [full ? 0 : 16 / 255, 128 / 255, 128 / 255],
  };
}
