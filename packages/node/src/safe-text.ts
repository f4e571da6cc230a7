/**
 * Text from a peer made safe to show: a name or message that cannot drive a
 * terminal, hide characters, or reorder what is displayed.
 */

// C0 and C1 controls and DEL (escape sequences, carriage return, backspace);
// tab and line feed are kept unless `singleLine`.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex
const LINE_CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
/**
 * Bidirectional formatting: embeddings and overrides (U+202A-U+202E),
 * isolates (U+2066-U+2069), and the marks that reorder nothing visible but
 * can still nudge a display (U+200E, U+200F, U+061C). With them, a file named
 * `invoice\u202Efdp.exe` shows as `invoiceexe.pdf`.
 */
const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;
/** Zero-width and invisible characters that make two strings look equal: ZWSP, ZWNJ, ZWJ, word joiner and invisible operators, BOM. */
const INVISIBLE = /[\u200b-\u200d\u2060-\u2064\ufeff]/g;

/** Options of {@link safeText}. */
export interface SafeTextOptions {
  /**
   * Also remove tabs and line breaks (a name, a file name), after folding
   * runs of white space into one space.
   * @default false
   */
  singleLine?: boolean;
  /**
   * Also remove zero-width and invisible characters (U+200B-U+200D,
   * U+2060-U+2064, U+FEFF), which make one name look like another.
   * @default false
   */
  removeInvisible?: boolean;
}

/**
 * Removes the characters of untrusted text that could mislead its reader:
 * C0 and C1 control characters and DEL (terminal escapes, carriage returns)
 * and bidirectional overrides, embeddings, isolates and marks. Tabs and line
 * feeds stay unless `singleLine`; `\r\n` becomes `\n`. Everything else,
 * including every script and emoji, is kept as it is.
 */
export function safeText(text: string, options: SafeTextOptions = {}): string {
  let clean = options.singleLine === true ? text.replace(/\s+/g, " ").replace(LINE_CONTROLS, "") : text.replace(/\r\n?/g, "\n").replace(CONTROLS, "");
  clean = clean.replace(BIDI, "");
  if (options.removeInvisible === true) clean = clean.replace(INVISIBLE, "");
  return clean;
}
