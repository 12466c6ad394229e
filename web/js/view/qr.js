// The QR code of a link, drawn: an <svg> the page places where it likes,
// sized by CSS (it scales without blur: its units are modules).
//
// One light square under one path of the dark modules, rather than a
// rectangle per module: a version 10 code has some 1,600 dark modules,
// and one path is one node to lay out and paint. The light square is the
// code's own, quiet zone included, so the code scans on a dark page too
// (scanners want dark modules on light, never inverted). Colours are
// attributes, not styles: the page's Content-Security-Policy allows no
// inline style.

import { qrMatrix, qrPath } from '../model/qr.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** The quiet zone around the code, in modules: the four the standard asks for. */
export const QUIET_MODULES = 4;

/**
 * An <svg role="img"> of text's QR code, named label for screen readers
 * (say what it is for: "Scan to use your phone as player 2's controller").
 * Throws qrMatrix's Error when the text is too long for a QR code.
 */
export function qrElement(text, { label }) {
  const { size, modules } = qrMatrix(text);
  const side = size + 2 * QUIET_MODULES;
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${side} ${side}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.classList.add('qr');
  const light = document.createElementNS(SVG_NS, 'rect');
  light.setAttribute('width', String(side));
  light.setAttribute('height', String(side));
  light.setAttribute('fill', '#fff');
  const dark = document.createElementNS(SVG_NS, 'path');
  dark.setAttribute('d', qrPath(modules, QUIET_MODULES));
  dark.setAttribute('fill', '#000');
  svg.append(light, dark);
  return svg;
}
