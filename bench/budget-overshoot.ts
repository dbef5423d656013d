import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { CHAT, post } from './client';
import { startFastUpstream } from './fast-upstream';
import { startGateway } from './runtime';

/**
 * `npm run bench:budgets [rounds]`: how far a team's budget can be overshot when many calls arrive at once
 * (docs/budgets.md, "How it is enforced, and how far it can overshoot"). The gateway on the benchmark runtime
 * (workerd serve, the TeamBudgets Durable Object on SQLite), every call $0.01 (the mock's usage, 12 + 20 tokens, at
 * the prices below), a $0.20 daily limit — a budget of 20 calls. Per team: `WARM` calls one by one first (0: cold,
 * the team's very first calls; 5: warm, its cost per call known), then 400 calls from 50 connections, each sending
 * its next call as soon as the last is answered. Reported: calls admitted against the budget's 20, how many over
 * (and the spend over the limit, from `GET /budgets`), calls refused (429). Each round uses new teams, cold then
 * warm, on the same isolate; before the first round the isolate has made budgeted calls of another team, so the
 * rounds measure a team's first calls, not the isolate's (whose first budgeted calls wait for the store).
 *
 * A measurement, not a pass/fail check: it exits non-zero only when the measurement itself is not sound (a call
 * answered with neither 200 nor 429, or a team's recorded spend differing from its admitted calls' cost).
 * Results in bench/results/budget-overshoot-<time>.json.
 */
const ROUNDS = Math.max(1, Number(process.argv[2] ?? 3) || 3);
const CONNECTIONS = 50;
const CALLS = 400;
const COST_USD = 0.01;
const LIMIT_USD = 0.2;
const BUDGET_CALLS = Math.round(LIMIT_USD / COST_USD);
const PATH = '/openai/v1/chat/completions';

/** USD per million tokens; the mock (bench/fast-upstream.ts) reports 12 input and 20 output tokens: 3,000 + 7,000 µ$. */
const PRICES = { 'gpt-4o-mini': { input: 250, output: 350 } };
const scenarios = [
  { kind: 'cold', warm: 0, what: 'first calls of the team' },
  { kind: 'warm', warm: 5, what: 'after 5 calls one by one' },
] as const;
const team = (kind: string, round: number) => `${kind}-${round}`;
const budgets: Record<string, { daily_usd: number; monthly_usd?: number }> = { 'isolate-warmup': { daily_usd: 100 } };
for (let r = 1; r <= ROUNDS; r++) for (const s of scenarios) budgets[team(s.kind, r)] = { daily_usd: LIMIT_USD, monthly_usd: 100 };

interface Measured {
  round: number;
  scenario: 'cold' | 'warm';
  team: string;
  warmCalls: number;
  admitted: number;
  over: number;
  overUsd: number;
  refused: number;
  unexpected: number;
  spentUsd: number;
  spendMatches: boolean;
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function spentToday(base: string, name: string): Promise<number> {
  const report = (await (await fetch(`${base}/budgets`)).json()) as { teams: Record<string, { day: { spent_usd: number } }> };
  return report.teams[name]?.day.spent_usd ?? NaN;
}

async function overshoot(base: string, round: number, s: (typeof scenarios)[number]): Promise<Measured> {
  const name = team(s.kind, round);
  const headers = { 'x-sla-team': name };
  let admitted = 0;
  let refused = 0;
  let unexpected = 0;
  const count = (status: number) => {
    if (status === 200) admitted++;
    else if (status === 429) refused++;
    else unexpected++;
  };
  const first = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < s.warm; i++) count((await post(first, base, PATH, CHAT, headers)).status);
  first.destroy();
  // The isolate counts a call's cost when its record is built, just after the answer: give it that moment.
  if (s.warm > 0) await sleep(300);
  let left = CALLS;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        while (left-- > 0) count((await post(agent, base, PATH, CHAT, headers)).status);
      } finally {
        agent.destroy();
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // Let the last costs reach the store (batched 200 ms after the call) before reading the spend.
  await sleep(1000);
  const spentUsd = await spentToday(base, name);
  return {
    round,
    scenario: s.kind,
    team: name,
    warmCalls: s.warm,
    admitted,
    over: admitted - BUDGET_CALLS,
    overUsd: Number((spentUsd - LIMIT_USD).toFixed(6)),
    refused,
    unexpected,
    spentUsd,
    spendMatches: Math.abs(spentUsd - admitted * COST_USD) < 1e-6,
    seconds,
  };
}

async function main(): Promise<void> {
  const upstream = await startFastUpstream({ latencyMs: 0, chunks: 1, spacingMs: 0 });
  const gateway = await startGateway(
    'bench/.build/gateway/index.js',
    { UPSTREAM_OPENAI: upstream.url, RECORDER: 'none', BUDGETS: JSON.stringify(budgets), PRICES: JSON.stringify(PRICES) },
    'budget-overshoot',
  );
  const measured: Measured[] = [];
  try {
    // The isolate's first budgeted calls wait for the store; these make that wait, so that the rounds see a warm isolate.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 3; i++) {
      const { status } = await post(agent, gateway.url, PATH, CHAT, { 'x-sla-team': 'isolate-warmup' });
      if (status !== 200) throw new Error(`warm-up call answered ${status}`);
    }
    agent.destroy();
    await sleep(300);
    for (let r = 1; r <= ROUNDS; r++) {
      for (const s of scenarios) {
        const m = await overshoot(gateway.url, r, s);
        measured.push(m);
        console.log(
          `round ${r}, ${s.kind} (${s.what}): ${m.admitted} calls admitted for a ${BUDGET_CALLS}-call $${LIMIT_USD} budget, ` +
            `${m.over} over ($${m.overUsd.toFixed(2)}), ${m.refused} refused` +
            `${m.unexpected ? `, ${m.unexpected} answered otherwise` : ''}${m.spendMatches ? '' : `, spend recorded $${m.spentUsd} (not admitted x $${COST_USD})`}`,
        );
      }
    }
  } finally {
    await gateway.dispose();
    await upstream.close();
  }
  const summary = Object.fromEntries(
    scenarios.map((s) => {
      const over = measured.filter((m) => m.scenario === s.kind).map((m) => m.over);
      return [s.kind, { over, min: Math.min(...over), max: Math.max(...over) }];
    }),
  );
  for (const s of scenarios) {
    const x = summary[s.kind] as { over: number[]; min: number; max: number };
    console.log(`${s.kind}: calls over the ${BUDGET_CALLS}-call budget in ${ROUNDS} rounds: ${x.over.join(', ')} (at most $${(x.max * COST_USD).toFixed(2)} over)`);
  }
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model.split(' ').slice(0, 2).join(' '), node: process.version },
    runtime: 'workerd serve (bench/runtime.ts), RECORDER=none, TeamBudgets on SQLite',
    setup: { connections: CONNECTIONS, calls: CALLS, costUsd: COST_USD, limitUsd: LIMIT_USD, budgetCalls: BUDGET_CALLS, rounds: ROUNDS },
    summary,
    measured,
  };
  fs.mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/budget-overshoot-${result.date.replace(/[:.]/g, '-')}.json`;
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`written ${file}`);
  const unsound = measured.filter((m) => m.unexpected > 0 || !m.spendMatches || m.admitted + m.refused !== CALLS + m.warmCalls);
  if (unsound.length > 0) {
    console.error(`measurement not sound for ${unsound.map((m) => m.team).join(', ')}: see above`);
    process.exitCode = 1;
  }
}

await main();
