import { describe, expect, it } from '@jest/globals';
import { issueCutNotes } from '../../src/github/issue-context.ts';
import { cleanUntrustedText } from '../../src/util/untrusted-text.ts';

describe('an issue text too long for the model', () => {
  const long = 'a'.repeat(60_000);

  it('is cut, and the model is told where and how much', () => {
    const text = cleanUntrustedText(long);
    expect(text.startsWith('a'.repeat(30_000) + '\n')).toBe(true);
    expect(text).toContain('[cut here: this text is 60,000 characters long; only the first 30,000 are shown, the remaining 30,000 were left out]');
    expect(cleanUntrustedText('short')).toBe('short');
  });

  it('is named in words for the progress comment and the pull request', () => {
    expect(issueCutNotes({ body: long, comments: [] })).toEqual([
      "The issue's description is 60,000 characters long: the agent saw only the first 30,000 (the rest was cut, and the agent was told so).",
    ]);
    expect(issueCutNotes({ body: 'short', comments: [{ author: 'a', body: 'b'.repeat(6000) }, { author: 'b', body: 'ok' }] })).toEqual([
      'One comment is longer than 5,000 characters: the agent saw only the first 5,000 of each.',
    ]);
    expect(issueCutNotes({ body: 'short', comments: [] })).toEqual([]);
  });
});
