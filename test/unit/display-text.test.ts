import { describe, expect, it } from '@jest/globals';
import { cleanForDisplay } from '../../src/util/display-text.ts';
import { cleanUntrustedText } from '../../src/util/untrusted-text.ts';

const ESC = '\x1b';

describe('cleanForDisplay', () => {
  it('removes terminal escape sequences whole, leaving no `[31m` behind', () => {
    expect(cleanForDisplay(`${ESC}[1;31mFAIL${ESC}[0m src/a.test.ts`)).toBe('FAIL src/a.test.ts');
    expect(cleanForDisplay(`${ESC}[2K${ESC}[1G${ESC}[?25lprogress${ESC}[?25h`)).toBe('progress');
    // A charset switch, a keypad mode, a window title (OSC ended by BEL), a DCS string.
    expect(cleanForDisplay(`a${ESC}(Bb${ESC}=c${ESC}]0;title\x07d${ESC}Pq#0${ESC}\\e`)).toBe('abcde');
    // 8-bit CSI and OSC.
    expect(cleanForDisplay('a\x9b31mb\x9d0;t\x9cc')).toBe('abc');
  });

  it('keeps only the visible text of OSC 8 hyperlinks', () => {
    const link = `see ${ESC}]8;;https://evil.example/x${ESC}\\the docs${ESC}]8;;${ESC}\\ and ${ESC}]8;id=1;https://b.example\x07more${ESC}]8;;\x07`;
    expect(cleanForDisplay(link)).toBe('see the docs and more');
  });

  it('drops a stray or unterminated ESC without swallowing the text after it', () => {
    expect(cleanForDisplay(`a${ESC}`)).toBe('a');
    expect(cleanForDisplay(`a${ESC}]8;;https://x.example no terminator`)).toBe('a8;;https://x.example no terminator');
  });

  it('removes C0 and C1 controls but keeps newlines and tabs', () => {
    expect(cleanForDisplay('a\x00b\x07c\x08d\x0be\x0cf\x7fg\x85h\x9fi')).toBe('abcdefghi');
    expect(cleanForDisplay('col1\tcol2\nnext')).toBe('col1\tcol2\nnext');
  });

  it('turns \\r\\n, lone \\r and the Unicode line and paragraph separators into newlines', () => {
    expect(cleanForDisplay('one\r\ntwo\rthree')).toBe('one\ntwo\nthree');
    expect(cleanForDisplay('one\u2028two\u2029three')).toBe('one\ntwo\n\nthree');
  });

  it('removes bidi overrides, isolates and marks', () => {
    // The "Trojan Source" shape: text that reads differently from what it is.
    expect(cleanForDisplay('access\u202E\u2066 // admin only\u2069\u2066')).toBe('access // admin only');
    for (const c of ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C']) {
      expect(cleanForDisplay(`a${c}b`)).toBe('ab');
    }
  });

  it('removes zero-width and invisible characters', () => {
    for (const c of ['\u200B', '\u200C', '\u200D', '\u2060', '\u2061', '\u2062', '\u2063', '\u2064', '\uFEFF', '\u00AD']) {
      expect(cleanForDisplay(`a${c}b`)).toBe('ab');
    }
    expect(cleanForDisplay('\uFEFFgh\u200Bp_token')).toBe('ghp_token');
  });

  it('keeps emoji (with their joiners), CJK, accents and other scripts', () => {
    const text = 'Fix crash 🎉 👨‍👩‍👧 🏳️‍🌈 👨🏽‍💻 ❤️‍🔥 — 日本語のテスト, 한국어, naïve café Ångström, Ελληνικά, עברית, العربية, ½ «quotes»';
    expect(cleanForDisplay(text)).toBe(text);
    // Decomposed accents (combining marks) too.
    expect(cleanForDisplay('cafe\u0301')).toBe('cafe\u0301');
  });

  it('is idempotent, including where removing one character exposes another', () => {
    for (const text of [`${ESC}${ESC}[31m[0m`, `a${ESC}\u200B[31mb`, 'x\r\u200B\ny', `${ESC}]8;;u${ESC}\\t${ESC}`]) {
      const once = cleanForDisplay(text);
      expect(cleanForDisplay(once)).toBe(once);
      expect(once).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    }
  });
});

describe('text for the model shares the invisible-character set', () => {
  it('cleanUntrustedText removes the same bidi and zero-width characters', () => {
    expect(cleanUntrustedText('a\u202Eb\u200Bc\u061Cd\uFEFFe')).toBe('abcde');
    expect(cleanUntrustedText('family 👨‍👩‍👧')).toBe('family 👨‍👩‍👧');
  });
});
