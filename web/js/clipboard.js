// The clipboard, for the room's link and the player code.

/**
 * Copies text to the clipboard. False when the browser has no clipboard
 * here (plain http from another machine) or refuses: the caller then shows
 * the text to copy by hand.
 */
export async function copyText(text) {
  if (!navigator.clipboard?.writeText) return false;
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (err) {
    console.info('telecart: clipboard refused', err?.name || err);
    return false;
  }
}
