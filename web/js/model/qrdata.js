// The data of a QR code (ISO/IEC 18004): the text's bytes in byte mode,
// padded to a version's capacity at level M, cut into blocks, each with its
// Reed-Solomon codewords, interleaved as the symbol carries them. Pure
// functions, for model/qr.js, which lays them out.

// ECC codewords per block and blocks, level M, by version (index 0 unused).
const ECC_PER_BLOCK = [0,
  10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
  26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28];
const BLOCKS = [0,
  1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
  17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49];

/** The largest version encoded, and so the most bytes a code holds. */
export const MAX_VERSION = 40;

const MODE_BYTE = 0b0100;

// rawModules is how many modules of a version carry codewords: all
// but the function patterns, format and version information.
function rawModules(version) {
  let n = (16 * version + 128) * version + 64;
  if (version >= 2) {
    const align = Math.floor(version / 7) + 2;
    n -= (25 * align - 10) * align - 55;
    if (version >= 7) n -= 36;
  }
  return n;
}

/** Data codewords (bytes, after the ECC is taken off) a version holds at level M. */
export function dataCodewords(version) {
  return Math.floor(rawModules(version) / 8) - ECC_PER_BLOCK[version] * BLOCKS[version];
}

// countBits is the width of byte mode's character count.
function countBits(version) {
  return version <= 9 ? 8 : 16;
}

/** The most bytes of text a version holds, in byte mode at level M. */
export function capacity(version) {
  return Math.floor((dataCodewords(version) * 8 - 4 - countBits(version)) / 8);
}

// gfMul multiplies in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1, the field
// of QR's Reed-Solomon code.
function gfMul(a, b) {
  let r = 0;
  for (let i = 7; i >= 0; i--) {
    r = (r << 1) ^ ((r >>> 7) * 0x11d);
    r ^= ((b >>> i) & 1) * a;
  }
  return r;
}

// rsDivisor is the generator polynomial of degree n, (x - 2^0)...(x - 2^(n-1)),
// its coefficients highest first, the leading 1 left out.
function rsDivisor(n) {
  const poly = new Array(n).fill(0);
  poly[n - 1] = 1;
  let root = 1;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      poly[j] = gfMul(poly[j], root);
      if (j + 1 < n) poly[j] ^= poly[j + 1];
    }
    root = gfMul(root, 2);
  }
  return poly;
}

// rsRemainder is the ECC codewords of data: the remainder of its
// division by the generator.
function rsRemainder(data, divisor) {
  const rem = new Array(divisor.length).fill(0);
  for (const b of data) {
    const factor = b ^ rem.shift();
    rem.push(0);
    for (let i = 0; i < divisor.length; i++) rem[i] ^= gfMul(divisor[i], factor);
  }
  return rem;
}

/**
 * The codewords of bytes in byte mode for a version, in the order the
 * symbol holds them: the data padded, cut into blocks, each with its ECC,
 * interleaved. The bytes must fit (capacity).
 */
export function codewords(bytes, version) {
  const bits = [];
  const put = (value, n) => {
    for (let i = n - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  put(MODE_BYTE, 4);
  put(bytes.length, countBits(version));
  for (const b of bytes) put(b, 8);
  const capacityBits = dataCodewords(version) * 8;
  put(0, Math.min(4, capacityBits - bits.length)); // the terminator
  put(0, (8 - (bits.length % 8)) % 8);
  const data = [];
  for (let i = 0; i < bits.length; i += 8) {
    let b = 0;
    for (let j = 0; j < 8; j++) b = (b << 1) | bits[i + j];
    data.push(b);
  }
  for (let pad = 0xec; data.length < capacityBits / 8; pad ^= 0xec ^ 0x11) data.push(pad);

  // The blocks: the first ones a codeword shorter than the rest.
  const blocks = BLOCKS[version];
  const eccLen = ECC_PER_BLOCK[version];
  const total = Math.floor(rawModules(version) / 8);
  const shortBlocks = blocks - (total % blocks);
  const shortLen = Math.floor(total / blocks) - eccLen;
  const divisor = rsDivisor(eccLen);
  const dataBlocks = [];
  const eccBlocks = [];
  for (let i = 0, at = 0; i < blocks; i++) {
    const len = shortLen + (i < shortBlocks ? 0 : 1);
    const block = data.slice(at, at + len);
    at += len;
    dataBlocks.push(block);
    eccBlocks.push(rsRemainder(block, divisor));
  }
  const out = [];
  for (let i = 0; i <= shortLen; i++) {
    for (const block of dataBlocks) if (i < block.length) out.push(block[i]);
  }
  for (let i = 0; i < eccLen; i++) {
    for (const block of eccBlocks) out.push(block[i]);
  }
  return out;
}
