// Text the model or strangers wrote (issue titles, summaries, command lines, test output) is shown
// to people on GitHub. Characters a reader cannot see there let it hide or reorder what the
// reviewer reads (bidi overrides: "Trojan Source"; zero-width characters; terminal escapes that
// leave `[31m` litter or carry OSC 8 links), so they are removed before anything is written.

// Bidi controls and zero-width or invisible characters. U+200D (zero-width joiner) stays between
// emoji, where it only joins them into one picture (👨‍👩‍👧).
const INVISIBLE =
  /[\u00AD\u061C\u200B\u200C\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]|(?<!\p{Extended_Pictographic}(?:\uFE0F|[\u{1F3FB}-\u{1F3FF}])?)\u200D|\u200D(?!\p{Extended_Pictographic})/gu;

// Whole escape sequences, 7- and 8-bit: CSI (colours, cursor moves); OSC, DCS, SOS, PM and APC
// strings up to their terminator (OSC 8 links keep only their visible text); other two-byte escapes.
const ESCAPE_SEQUENCE =
  /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|(?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x90\x98\x9c-\x9f]*(?:\x07|\x1b\\|\x9c)|\x1b[ -/]*[0-~]/g;

// C0 and C1 controls other than tab and newline (carriage returns are turned into newlines first).
const CONTROL = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]/g;

/** Removes bidi controls and zero-width characters: shared by text for the model and for GitHub. */
export function removeInvisible(text: string): string {
  return text.replace(INVISIBLE, '');
}

/**
 * Text as it may be shown on GitHub (titles, bodies, comments): no terminal escapes, no control
 * characters but `\n` and `\t` (`\r\n` and a lone `\r` become `\n`), no bidi or invisible
 * characters, and U+2028/U+2029 as newlines. Idempotent.
 */
export function cleanForDisplay(text: string): string {
  return removeInvisible(text.replace(/\r\n?/g, '\n').replace(ESCAPE_SEQUENCE, '').replace(CONTROL, ''))
    .replace(/\u2028/g, '\n')
    .replace(/\u2029/g, '\n\n');
}
