// The QR code a TV shows for a room's controller link, so that a phone's
// camera opens it (ISO/IEC 18004). Pure functions; the codewords are
// model/qrdata.js's, the drawing view/qr.js's.
//
// Only what a link needs: byte mode (the text as UTF-8, which every
// phone's scanner reads), error correction level M, versions 1 to 40,
// the smallest that holds the text. M rather than L: a code on a TV is
// read across a room, through glare, moiré and a screen's own scaling,
// and M's 15 % of the codewords repaired is worth the one version more
// it costs a link (a 45-byte link: version 4, 33 modules, against L's
// version 3, 29 modules).
//
// The matrix is an array of rows, each an array of booleans, true for a
// dark module: modules[y][x], y from the top, x from the left.

import { capacity, codewords, MAX_VERSION } from './qrdata.js';

export { capacity, MAX_VERSION } from './qrdata.js';

// Level M's two format bits (L is 01, M 00, Q 11, H 10).
const LEVEL_M_BITS = 0b00;

// The standard's penalty weights (7.8.3.1, Table 11).
const N1 = 3;
const N2 = 3;
const N3 = 40;
const N4 = 10;

/** Modules on a side of a code of the version. */
export function sizeOf(version) {
  return version * 4 + 17;
}

// alignmentPositions is where a version's alignment patterns are centred,
// on both axes (Annex E's table, as a formula).
function alignmentPositions(version) {
  if (version === 1) return [];
  const count = Math.floor(version / 7) + 2;
  const step = Math.floor((version * 8 + count * 3 + 5) / (count * 4 - 4)) * 2;
  const positions = [6];
  for (let pos = sizeOf(version) - 7; positions.length < count; pos -= step) positions.splice(1, 0, pos);
  return positions;
}

// bch is value's BCH code: value shifted left past the degree of poly,
// with the remainder of its division by poly.
function bch(value, poly, degree) {
  let rem = value << degree;
  for (let i = 31 - Math.clz32(rem); i >= degree; i--) {
    if ((rem >>> i) & 1) rem ^= poly << (i - degree);
  }
  return (value << degree) | rem;
}

/** The 15 format bits of level M and a mask, masked as the standard has them. */
export function formatBits(mask) {
  return bch((LEVEL_M_BITS << 3) | mask, 0x537, 10) ^ 0x5412;
}

/** The 18 version information bits, for versions 7 and up. */
export function versionBits(version) {
  return bch(version, 0x1f25, 12);
}

// The eight data masks: a module at (x, y) is flipped when its mask says so.
const MASKS = [
  (x, y) => (x + y) % 2 === 0,
  (x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

// grid is a code of a version being drawn: its modules, and which of
// them are function patterns, format or version information (never
// masked, never data).
function grid(version) {
  const size = sizeOf(version);
  const modules = Array.from({ length: size }, () => new Array(size).fill(false));
  const fixed = Array.from({ length: size }, () => new Array(size).fill(false));
  const set = (x, y, dark) => {
    modules[y][x] = dark;
    fixed[y][x] = true;
  };

  // Timing patterns, then the finders over their ends.
  for (let i = 0; i < size; i++) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const x = cx + dx;
        const y = cy + dy;
        if (x < 0 || x >= size || y < 0 || y >= size) continue;
        const ring = Math.max(Math.abs(dx), Math.abs(dy));
        set(x, y, ring !== 2 && ring !== 4); // separator (4) light
      }
    }
  }
  const align = alignmentPositions(version);
  for (const cy of align) {
    for (const cx of align) {
      // None over the finders.
      if ((cx === 6 && cy === 6) || (cx === 6 && cy === size - 7) || (cx === size - 7 && cy === 6)) continue;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) set(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
      }
    }
  }

  // Reserved now, written once the mask is known; the dark module.
  for (let i = 0; i < 9; i++) {
    fixed[8][i] = true;
    fixed[i][8] = true;
  }
  for (let i = 0; i < 8; i++) {
    fixed[8][size - 1 - i] = true;
    fixed[size - 1 - i][8] = true;
  }
  set(8, size - 8, true);

  if (version >= 7) {
    const bits = versionBits(version);
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >>> i) & 1) === 1;
      const a = size - 11 + (i % 3);
      const b = Math.floor(i / 3);
      set(a, b, dark);
      set(b, a, dark);
    }
  }
  return { size, modules, fixed };
}

// placeData lays the codewords out in the two-module-wide columns, upwards
// and downwards in turn from the right, skipping the vertical timing
// pattern and every fixed module.
function placeData({ size, modules, fixed }, data) {
  let i = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    const upward = ((right + 1) & 2) === 0;
    for (let v = 0; v < size; v++) {
      const y = upward ? size - 1 - v : v;
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        if (fixed[y][x]) continue;
        if (i < data.length * 8) modules[y][x] = ((data[i >>> 3] >>> (7 - (i & 7))) & 1) === 1;
        i++;
      }
    }
  }
}

// masked is a copy of the grid's modules with a mask and its format bits.
function masked({ size, modules, fixed }, mask) {
  const out = modules.map((row, y) => row.map((dark, x) => (fixed[y][x] ? dark : dark !== MASKS[mask](x, y))));
  const bits = formatBits(mask);
  const bit = (i) => ((bits >>> i) & 1) === 1;
  for (let i = 0; i <= 5; i++) out[i][8] = bit(i);
  out[7][8] = bit(6);
  out[8][8] = bit(7);
  out[8][7] = bit(8);
  for (let i = 9; i < 15; i++) out[8][14 - i] = bit(i);
  for (let i = 0; i < 8; i++) out[8][size - 1 - i] = bit(i);
  for (let i = 8; i < 15; i++) out[size - 15 + i][8] = bit(i);
  return out;
}

// linePenalty is N1 and N3 of one row or column: runs of five or more
// modules of one colour, and finder-like patterns (dark, light, three
// dark, light, dark) with four light modules before or after them, once
// each as the standard words it (some encoders count each side); past the
// edge is light, as the quiet zone is.
function linePenalty(line) {
  let score = 0;
  let run = 0;
  for (let i = 0; i <= line.length; i++) {
    if (i < line.length && i > 0 && line[i] === line[i - 1]) {
      run++;
      continue;
    }
    if (run >= 5) score += N1 + (run - 5);
    run = 1;
  }
  const at = (i) => i >= 0 && i < line.length && line[i];
  const light = (from) => !at(from) && !at(from + 1) && !at(from + 2) && !at(from + 3);
  for (let i = 0; i + 7 <= line.length; i++) {
    if (!(at(i) && !at(i + 1) && at(i + 2) && at(i + 3) && at(i + 4) && !at(i + 5) && at(i + 6))) continue;
    if (light(i - 4) || light(i + 7)) score += N3;
  }
  return score;
}

/** The standard's penalty of a finished matrix (N1 to N4): the lowest wins the mask. */
export function penalty(modules) {
  const size = modules.length;
  let score = 0;
  let dark = 0;
  for (let y = 0; y < size; y++) {
    score += linePenalty(modules[y]);
    score += linePenalty(modules.map((row) => row[y]));
    for (let x = 0; x < size; x++) {
      if (modules[y][x]) dark++;
      if (x > 0 && y > 0) {
        const c = modules[y][x];
        if (modules[y - 1][x] === c && modules[y][x - 1] === c && modules[y - 1][x - 1] === c) score += N2;
      }
    }
  }
  // N4: 10 for every full 5 % the dark modules are off half.
  const total = size * size;
  score += N4 * Math.floor(Math.abs(dark * 20 - total * 10) / total);
  return score;
}

/**
 * The QR code of text (as UTF-8, byte mode, level M) in the smallest
 * version that holds it: { size, version, mask, modules }, modules[y][x]
 * true for dark. options.mask (0-7) forces a mask instead of the one of
 * lowest penalty; options.minVersion a version at least (both for tests
 * against other encoders). Throws an Error when the text is too long for
 * any version.
 */
export function qrMatrix(text, options = {}) {
  if (typeof text !== 'string') throw new TypeError('qrMatrix: the text must be a string');
  const { mask, minVersion = 1 } = options;
  if (mask !== undefined && !(Number.isInteger(mask) && mask >= 0 && mask <= 7)) {
    throw new RangeError(`qrMatrix: mask ${mask} is not one of 0 to 7`);
  }
  if (!(Number.isInteger(minVersion) && minVersion >= 1 && minVersion <= MAX_VERSION)) {
    throw new RangeError(`qrMatrix: version ${minVersion} is not one of 1 to ${MAX_VERSION}`);
  }
  const bytes = new TextEncoder().encode(text);
  let version = minVersion;
  while (version <= MAX_VERSION && bytes.length > capacity(version)) version++;
  if (version > MAX_VERSION) {
    throw new RangeError(`qrMatrix: the text is ${bytes.length} bytes as UTF-8, more than a QR code holds (${capacity(MAX_VERSION)})`);
  }
  const g = grid(version);
  placeData(g, codewords(bytes, version));
  let best = null;
  for (let m = 0; m < MASKS.length; m++) {
    if (mask !== undefined && m !== mask) continue;
    const modules = masked(g, m);
    const score = mask !== undefined ? 0 : penalty(modules);
    if (best === null || score < best.score) best = { mask: m, modules, score };
  }
  return { size: g.size, version, mask: best.mask, modules: best.modules };
}

/**
 * One SVG path's data for the dark modules of a matrix, each row's runs
 * as one rectangle, offset by a quiet zone of quiet modules: the symbol
 * is size + 2 * quiet units wide.
 */
export function qrPath(modules, quiet = 4) {
  const parts = [];
  modules.forEach((row, y) => {
    for (let x = 0; x < row.length; ) {
      if (!row[x]) {
        x++;
        continue;
      }
      const start = x;
      while (x < row.length && row[x]) x++;
      parts.push(`M${start + quiet} ${y + quiet}h${x - start}v1h${start - x}z`);
    }
  });
  return parts.join('');
}
