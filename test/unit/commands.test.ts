import { describe, expect, it } from '@jest/globals';
import { issueOfTaskBranch, parseCommand } from '../../src/app/commands.ts';

describe('comment commands', () => {
  it('reads /ai-fix lines', () => {
    expect(parseCommand('/ai-fix stop')).toEqual({ type: 'stop' });
    expect(parseCommand('thanks!\n  /ai-fix   stop please')).toEqual({ type: 'stop' });
    expect(parseCommand('/ai-fix rebase')).toEqual({ type: 'rebase' });
    expect(parseCommand('/ai-fix also handle the empty list')).toEqual({ type: 'instruction', text: 'also handle the empty list' });
    expect(parseCommand('/ai-fix')).toEqual({ type: 'instruction', text: '' });
  });

  it('reads mentions of the app, and nothing else', () => {
    expect(parseCommand('@ai-fix please rename it', 'ai-fix')).toEqual({ type: 'mention', text: '@ai-fix please rename it' });
    expect(parseCommand('cc @ai-fix[bot]: see above', 'ai-fix')?.type).toBe('mention');
    expect(parseCommand('@ai-fixer is another app', 'ai-fix')).toBeNull();
    expect(parseCommand('email me at x@ai-fix.example', 'ai-fix')).toBeNull();
    expect(parseCommand('see the /ai-fix docs', 'ai-fix')).toBeNull();
    expect(parseCommand('looks good')).toBeNull();
  });

  it('knows the task branches', () => {
    expect(issueOfTaskBranch('ai-fix/issue-12')).toBe(12);
    expect(issueOfTaskBranch('feature/ai-fix/issue-12')).toBeNull();
    expect(issueOfTaskBranch('ai-fix/issue-12x')).toBeNull();
  });
});
