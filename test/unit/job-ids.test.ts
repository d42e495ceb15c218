import { describe, expect, it } from '@jest/globals';
import { intakeJobId, taskJobId, workKey } from '../../src/queue/job-ids.ts';
import { parseTaskRequest } from '../../src/queue/task-request.ts';

describe('job ids', () => {
  it('are deterministic, free of colons and never all digits', () => {
    const id = taskJobId('solve', 42, 7, '72d3162e-cc78-11e3-81ab-4c9367dc0958');
    expect(id).toBe(taskJobId('solve', 42, 7, '72d3162e-cc78-11e3-81ab-4c9367dc0958'));
    expect(id).not.toContain(':');
    expect(id).not.toMatch(/^\d+$/);
    expect(taskJobId('solve', 1, 2, 'a:b/c')).not.toMatch(/[:/]/);
    expect(workKey('solve', 42, 7)).not.toBe(workKey('revise', 42, 7));
  });

  it('give one intake job per delivery', () => {
    expect(intakeJobId('72d3162e-cc78-11e3')).toBe(intakeJobId('72d3162e-cc78-11e3'));
    expect(intakeJobId('1')).not.toMatch(/^\d+$/);
    expect(intakeJobId('a:b')).not.toContain(':');
  });
});

describe('task requests', () => {
  const valid = {
    version: 1,
    kind: 'solve',
    repo: { id: 1, owner: 'acme', name: 'app' },
    installationId: 9,
    issueNumber: 3,
    trigger: { login: 'maintainer', event: 'issues.labeled', deliveryId: 'd1' },
    requestedAt: '2026-11-24T00:00:00Z',
  };
  it('parse with defaults', () => {
    expect(parseTaskRequest(valid).options).toEqual({});
  });
  it('reject unknown versions and kinds', () => {
    expect(() => parseTaskRequest({ ...valid, version: 2 })).toThrow();
    expect(() => parseTaskRequest({ ...valid, kind: 'deploy' })).toThrow();
  });
});
