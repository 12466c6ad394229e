// Save files: a save downloaded as a file onto this device, or a file
// uploaded into a slot. They travel on the peer connection's "saves"
// channel (savefiles.js), one at a time; the session's row shows the one
// on its way, and a failure is told in a toast.

import { SaveFiles, keepFile } from '../savefiles.js';
import { loadable, savable, saveFileName } from '../model/saves.js';
import { updateSession, watching } from '../model/session.js';
import { withToast } from '../model/state.js';

export function createTransfers(app) {
  const { store } = app;
  const files = new SaveFiles();

  const current = (ref) => store.get().session?.ref === ref;
  const toast = (text) => store.update((st) => withToast(st, text));

  /** Downloads the save in slot 0-4 as a file on this device. */
  async function download(slot) {
    const s = store.get().session;
    if (!s?.live || !s.started || !loadable(slot)) return;
    const done = await transfer(s.ref, 'download', slot, () => files.download(slot));
    if (!done) return;
    keepFile(done.value, saveFileName(s.game?.title, slot));
    toast(slot === 0 ? 'Downloaded the autosave.' : `Downloaded slot ${slot}.`);
  }

  /** Uploads a save file into slot 1-4; the server sends the new list of saves. */
  async function upload(slot, file) {
    const s = store.get().session;
    if (!s?.live || !s.started || !savable(slot) || !(file instanceof Blob)) return;
    if (watching(s)) {
      // The server would refuse it too; saying why here saves sending it.
      toast('Take a controller to upload a save file: spectators can’t');
      return;
    }
    if (await transfer(s.ref, 'upload', slot, () => files.upload(slot, file))) toast(`Uploaded into slot ${slot}.`);
  }

  /**
   * Runs one save file's transfer with its row showing it. Resolves to
   * { value } when it went through and the session is still ref, else
   * null, a failure told in a toast.
   */
  async function transfer(ref, kind, slot, run) {
    // A second transfer is refused by SaveFiles: it must leave the row of
    // the one on its way as it is.
    const mine = !files.busy;
    if (mine) store.update((st) => updateSession(st, ref, { transferring: { kind, slot } }));
    try {
      const value = await run();
      return current(ref) ? { value } : null;
    } catch (err) {
      if (current(ref)) toast(err?.message || String(err));
      return null;
    } finally {
      if (mine) store.update((st) => updateSession(st, ref, { transferring: null }));
    }
  }

  return {
    download,
    upload,
    /** The peer connection's "saves" channel, for the current session. */
    attach: (channel) => files.attach(channel),
    /** The channel goes with its peer connection, and a transfer on its way with it. */
    close: () => files.detach(),
  };
}
