import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { authorized } from '../../src/observability/operator-auth.ts';

const TOKEN = 'operator-token-0123456789';

function request(authorization?: string): IncomingMessage {
  return { headers: authorization ? { authorization } : {} } as IncomingMessage;
}

describe('operator auth', () => {
  it('takes the token as a Bearer token or as a Basic password with any user', () => {
    expect(authorized(request(`Bearer ${TOKEN}`), TOKEN)).toBe(true);
    expect(authorized(request(`bearer ${TOKEN}`), TOKEN)).toBe(true);
    expect(authorized(request(`Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}`), TOKEN)).toBe(true);
    expect(authorized(request(`Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}`), TOKEN)).toBe(true);
  });

  it('refuses a missing, wrong, truncated or extended token', () => {
    for (const header of [undefined, 'Bearer', `Bearer ${TOKEN.slice(1)}`, `Bearer ${TOKEN}x`, `Token ${TOKEN}`, `Basic ${Buffer.from(TOKEN).toString('base64')}`]) {
      expect(authorized(request(header), TOKEN)).toBe(false);
    }
  });

  it('refuses everything when no token is configured', () => {
    expect(authorized(request('Bearer '), undefined)).toBe(false);
    expect(authorized(request(`Bearer ${TOKEN}`), undefined)).toBe(false);
  });
});
