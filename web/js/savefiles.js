// Save files: a save taken off the server as a file (and handed to the
// browser to keep), or a file put back into a slot. They travel on the game's own "saves" data channel, not the
// signalling socket: a file can be megabytes, and the coordinator has no
// business relaying them.
//
// The protocol is the worker's (internal/worker/files.go): control
// messages are JSON text, the file's bytes binary messages, one transfer
// at a time. Nothing in it names a request, so this page never has two on
// their way: an answer can only be to the one waiting.
//
//   page → worker  {"op":"download","slot":N}
//   worker → page  {"op":"file","slot":N,"size":S}, then S bytes
//   page → worker  {"op":"upload","slot":N,"size":S}, then S bytes
//   worker → page  {"op":"uploaded","slot":N}
//   worker → page  {"op":"error","message":"…"}, for a refusal

import { loadable, savable } from './model/saves.js';

/** The largest save file there is; the server refuses bigger ones too. */
export const MAX_SAVE_FILE = 32 << 20;

const CHUNK = 16 << 10; // the most every browser and the worker take in one message
// Sending pauses while this much waits in the channel, until it drains to
// the threshold: a 32 MiB file is not queued in one go.
const HIGH_WATER = 1 << 20;
const LOW_WATER = 256 << 10;
const SILENCE_MS = 15_000; // no news of a transfer this long: given up on

// A downloaded file's object URL outlives the click: some browsers read it
// only after, and revoking it at once can cancel the download.
const FILE_URL_MS = 30_000;

const BUSY = 'Another save file is on its way; wait for it.';
const INTERRUPTED = 'The transfer was interrupted.';
const SILENT = 'The server did not answer.';
const NOT_READY = 'The connection to the game can’t carry save files right now.';

/** The "saves" channel of the current peer connection, one transfer at a time. */
export class SaveFiles {
  constructor() {
    this.channel = null;
    // The transfer on its way: { kind, slot, resolve, reject, timer, wake }
    // and, for a download, size (-1 until announced), parts and received.
    this.op = null;
    this.onMessage = (e) => this.message(e.data);
    this.onClose = () => this.detach();
    this.onLow = () => this.drain();
  }

  /** Uses a new "saves" channel; a transfer on the old one is over. */
  attach(channel) {
    this.detach();
    this.channel = channel;
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = LOW_WATER;
    channel.addEventListener('message', this.onMessage);
    channel.addEventListener('close', this.onClose);
    channel.addEventListener('bufferedamountlow', this.onLow);
  }

  /** Lets the channel go, failing the transfer on its way. */
  detach() {
    const ch = this.channel;
    this.channel = null;
    if (ch) {
      ch.removeEventListener('message', this.onMessage);
      ch.removeEventListener('close', this.onClose);
      ch.removeEventListener('bufferedamountlow', this.onLow);
    }
    if (this.op) this.finish(this.op, new Error(INTERRUPTED));
  }

  /** True while a transfer is on its way. */
  get busy() {
    return this.op !== null;
  }

  /** The save in slot 0-4 (0 the autosave), as a file. */
  async download(slot) {
    this.ready();
    if (!loadable(slot)) throw new Error(`There is no slot ${slot} to download.`);
    const [op, done] = this.begin('download', slot);
    Object.assign(op, { size: -1, parts: [], received: 0 });
    try {
      this.channel.send(JSON.stringify({ op: 'download', slot }));
    } catch (err) {
      console.warn('telecart: asking for a save file failed', err);
      this.finish(op, new Error(INTERRUPTED));
    }
    return done;
  }

  /** Puts a save file into slot 1-4 (never the autosave's), replacing what is there. */
  async upload(slot, file) {
    this.ready();
    if (!savable(slot)) throw new Error(`Save files go into slots 1 to 4, not ${slot}.`);
    // Refused here, before a byte goes: the server would only refuse it later.
    if (file.size > MAX_SAVE_FILE) throw new Error(`That file is too large to be a save: at most ${MAX_SAVE_FILE >> 20} MiB.`);
    if (file.size === 0) throw new Error('That file is empty.');
    const [op, done] = this.begin('upload', slot);
    this.send(op, file);
    return done;
  }

  /** Throws when a transfer cannot begin now. */
  ready() {
    if (this.op) throw new Error(BUSY);
    if (this.channel?.readyState !== 'open') throw new Error(NOT_READY);
  }

  begin(kind, slot) {
    const op = { kind, slot, timer: 0, wake: null };
    const done = new Promise((resolve, reject) => Object.assign(op, { resolve, reject }));
    this.op = op;
    this.alive(op);
    return [op, done];
  }

  /** The transfer moved: the server has SILENCE_MS again. */
  alive(op) {
    clearTimeout(op.timer);
    op.timer = setTimeout(() => this.finish(op, new Error(SILENT)), SILENCE_MS);
  }

  /** Ends op with err, or with value; the first end is the one that counts. */
  finish(op, err, value) {
    if (this.op !== op) return;
    this.op = null;
    clearTimeout(op.timer);
    op.wake?.(); // a paused upload stops
    if (err) op.reject(err);
    else op.resolve(value);
  }

  /**
   * Sends the upload's header and bytes. The file is read first: once the
   * header is out the bytes must follow, and a read that fails halfway
   * could not take it back.
   */
  async send(op, file) {
    let bytes;
    try {
      bytes = new Uint8Array(await file.arrayBuffer());
    } catch (err) {
      console.warn('telecart: reading a save file failed', err);
      this.finish(op, new Error('That file could not be read.'));
      return;
    }
    const ch = this.channel;
    try {
      if (this.op !== op) return; // timed out or interrupted while reading
      ch.send(JSON.stringify({ op: 'upload', slot: op.slot, size: bytes.length }));
      for (let at = 0; at < bytes.length; at += CHUNK) {
        if (ch.bufferedAmount > HIGH_WATER) await new Promise((resolve) => { op.wake = resolve; });
        // Refused, timed out or interrupted meanwhile: the rest would only
        // be bytes the server throws away.
        if (this.op !== op) return;
        ch.send(bytes.subarray(at, at + CHUNK));
        this.alive(op); // the server only answers at the end: until then, sending is the news
      }
    } catch (err) {
      console.warn('telecart: sending a save file failed', err);
      this.finish(op, new Error(INTERRUPTED));
    }
  }

  /** The channel drained: a paused upload goes on. */
  drain() {
    const op = this.op;
    if (!op?.wake) return;
    const wake = op.wake;
    op.wake = null;
    this.alive(op);
    wake();
  }

  message(data) {
    if (typeof data !== 'string') {
      this.bytes(data);
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.info('telecart: ignoring a saves message that is not JSON');
      return;
    }
    const op = this.op;
    if (op && msg && typeof msg === 'object') {
      if (msg.op === 'error') {
        const text = typeof msg.message === 'string' ? msg.message.trim() : '';
        this.finish(op, new Error(text || 'The server could not move that save file.'));
        return;
      }
      if (msg.op === 'file' && op.kind === 'download' && op.size < 0 && msg.slot === op.slot
        && Number.isInteger(msg.size) && msg.size >= 0 && msg.size <= MAX_SAVE_FILE) {
        op.size = msg.size;
        this.alive(op);
        this.complete(op);
        return;
      }
      if (msg.op === 'uploaded' && op.kind === 'upload' && msg.slot === op.slot) {
        this.finish(op);
        return;
      }
    }
    console.info('telecart: ignoring a saves message', msg);
  }

  /** A piece of the download's file. */
  bytes(data) {
    const op = this.op;
    if (!(data instanceof ArrayBuffer) || op?.kind !== 'download' || op.size < 0) {
      // Left over from a transfer given up on, most likely.
      console.info('telecart: ignoring save file bytes nobody waits for');
      return;
    }
    if (op.received + data.byteLength > op.size) {
      this.finish(op, new Error('The server sent more than the file it announced.'));
      return;
    }
    op.parts.push(data);
    op.received += data.byteLength;
    this.alive(op);
    this.complete(op);
  }

  complete(op) {
    if (op.received === op.size) this.finish(op, null, new Blob(op.parts, { type: 'application/octet-stream' }));
  }
}

/** Hands a file to the browser to keep, as a download named name. */
export function keepFile(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href: url, download: name, hidden: true });
  document.body.append(a); // Firefox follows only a link in the document
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), FILE_URL_MS);
}
