import { describe, expect, it } from 'vitest';
import { AttemptPlan, planTargets, type StepContext } from '../../../../src/core/resilience/plan';

const providers: Record<string, { format: string; managedKey: boolean }> = {
  openai: { format: 'openai', managedKey: false },
  backup: { format: 'openai', managedKey: true },
  third: { format: 'openai', managedKey: true },
  nokey: { format: 'openai', managedKey: false },
  claude: { format: 'anthropic', managedKey: true },
};
const facts = (name: string) => providers[name];
const policy = {
  retries: 2,
  retryOn: { statuses: new Set([429, 500, 503]), networkError: true, timeout: true },
  backoffMs: 100,
  backoffMaxMs: 1000,
  retryAfterMaxMs: 5000,
};
const ctx = (over: Partial<StepContext> = {}): StepContext => ({ now: 0, deadlineAt: null, allow: () => true, random: () => 0, skip: () => undefined, ...over });
const three = planTargets({ targets: [{ provider: 'backup', model: null }, { provider: 'third', model: 'm' }] }, { provider: 'openai', format: 'openai' }, facts).targets;

describe('the targets of a call', () => {
  it("puts the path's provider first unless listed, with the client's key only there", () => {
    const { targets, skipped } = planTargets({ targets: [{ provider: 'backup', model: 'gpt-4o-mini' }] }, { provider: 'openai', format: 'openai' }, facts);
    expect(targets.map((t) => [t.label, t.own])).toEqual([
      ['openai', true],
      ['backup:gpt-4o-mini', false],
    ]);
    expect(skipped).toEqual([]);
  });

  it('keeps the listed order when the path provider is listed', () => {
    const { targets } = planTargets({ targets: [{ provider: 'backup', model: null }, { provider: 'openai', model: null }] }, { provider: 'openai', format: 'openai' }, facts);
    expect(targets.map((t) => t.label)).toEqual(['backup', 'openai']);
  });

  it('leaves out another wire format, another provider without a managed key, an unknown provider', () => {
    const { targets, skipped } = planTargets(
      { targets: [{ provider: 'claude', model: null }, { provider: 'nokey', model: null }, { provider: 'gone', model: null }] },
      { provider: 'openai', format: 'openai' },
      facts,
    );
    expect(targets.map((t) => t.label)).toEqual(['openai']);
    expect(skipped).toEqual([
      { target: 'claude', reason: 'format' },
      { target: 'nokey', reason: 'no_key' },
      { target: 'gone', reason: 'unknown_provider' },
    ]);
  });
});

describe('the attempt plan', () => {
  it('retries a target (backoff) before moving to the next, then stops when all are used', () => {
    const plan = new AttemptPlan(three, { ...policy, retries: 1 });
    expect(plan.first(ctx())).toMatchObject({ kind: 'next', target: 0 });
    expect(plan.after(0, { kind: 'status', status: 503 }, null, ctx())).toEqual({ kind: 'retry', target: 0, delayMs: 50 });
    expect(plan.after(0, { kind: 'status', status: 503 }, null, ctx())).toMatchObject({ kind: 'next', target: 1 });
    expect(plan.after(1, { kind: 'network_error' }, null, ctx())).toMatchObject({ kind: 'retry', target: 1 });
    expect(plan.after(1, { kind: 'network_error' }, null, ctx())).toMatchObject({ kind: 'next', target: 2 });
    expect(plan.more(2)).toBe(true);
    expect(plan.after(2, { kind: 'timeout' }, null, ctx())).toMatchObject({ kind: 'retry', target: 2 });
    expect(plan.more(2)).toBe(false);
    expect(plan.after(2, { kind: 'timeout' }, null, ctx())).toEqual({ kind: 'stop', why: 'exhausted' });
  });

  it('stops at once on a failure retry_on does not list', () => {
    const plan = new AttemptPlan(three, policy);
    plan.first(ctx());
    expect(plan.after(0, { kind: 'status', status: 400 }, null, ctx())).toEqual({ kind: 'stop', why: 'not_retryable' });
  });

  it('waits what retry-after asks up to the cap; beyond it, moves on', () => {
    const plan = new AttemptPlan(three, policy);
    plan.first(ctx());
    expect(plan.after(0, { kind: 'status', status: 429 }, 1200, ctx())).toEqual({ kind: 'retry', target: 0, delayMs: 1200 });
    expect(plan.after(0, { kind: 'status', status: 429 }, 60_000, ctx())).toMatchObject({ kind: 'next', target: 1 });
  });

  it("does not wait past the call's deadline: it moves on instead", () => {
    const plan = new AttemptPlan(three, policy);
    plan.first(ctx());
    expect(plan.after(0, { kind: 'status', status: 503 }, 900, ctx({ now: 1000, deadlineAt: 1500 }))).toMatchObject({ kind: 'next', target: 1 });
  });

  it('a first-token deadline moves to the next target at once; on the last it is retried', () => {
    const plan = new AttemptPlan(three, policy);
    plan.first(ctx());
    expect(plan.after(0, { kind: 'first_token_timeout' }, null, ctx())).toMatchObject({ kind: 'next', target: 1 });
    expect(plan.after(1, { kind: 'first_token_timeout' }, null, ctx())).toMatchObject({ kind: 'next', target: 2 });
    expect(plan.after(2, { kind: 'first_token_timeout' }, null, ctx())).toMatchObject({ kind: 'retry', target: 2 });
  });

  it('skips targets whose breaker is open, and still tries the last when every one left is open', () => {
    const open = new Set([0, 1]);
    const skipped: number[] = [];
    const plan = new AttemptPlan(three, policy);
    expect(plan.first(ctx({ allow: (i) => !open.has(i), skip: (i) => skipped.push(i) }))).toEqual({ kind: 'next', target: 2, forced: false });
    expect(skipped).toEqual([0, 1]);
    const all = new AttemptPlan(three, policy);
    expect(all.first(ctx({ allow: () => false }))).toEqual({ kind: 'next', target: 2, forced: true });
  });

  it("asks a target's breaker only when it is about to be chosen (a probe is not spent on a target passed over)", () => {
    const asked: number[] = [];
    const plan = new AttemptPlan(three, policy);
    plan.first(ctx({ allow: (i) => (asked.push(i), true) }));
    expect(asked).toEqual([0]);
  });
});
