import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/resolve';

function resolved(vars: Record<string, string>) {
  const result = parseConfig(vars);
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.config;
}

describe('parseConfig defaults', () => {
  it('leaves the token estimate off unless TOKEN_ESTIMATE turns it on (its encoder build needs the Paid plan)', () => {
    expect(resolved({}).tokenEstimate).toBe(false);
    expect(resolved({ TOKEN_ESTIMATE: 'on' }).tokenEstimate).toBe(true);
    expect(resolved({ TOKEN_ESTIMATE: 'off' }).tokenEstimate).toBe(false);
  });
});
