import type { ResolvedConfig } from '../../config/resolve';
import type { Outcome } from '../../core/record';
import type { AttemptRecord, CallRecord, CallResilience } from '../../core/record';
import type { Breaker } from '../../core/resilience/breaker';
import { firstTokenDeadline, HEDGE_LOST, hedgeDelay } from '../../core/resilience/deadline';
import { orderTargets } from '../../core/resilience/order';
import { AttemptPlan, planTargets, type PlanTarget, type SkippedTarget, type Step, type StepContext } from '../../core/resilience/plan';
import type { ResolvedPolicy } from '../../core/resilience/policy';
import { failureReason, type AttemptFailure } from '../../core/resilience/retry';
import { NO_TAILS, type Tails } from '../../core/resilience/tails';
import { costUsd, findPrice } from '../../core/pricing/cost';
import { stampBudget, type BudgetTicket } from '../budget-gate';
import { GatewayError } from '../errors';
import { ResponseFacts } from '../formats/facts';
import { injectIncludeUsage } from '../formats/openai';
import { safeRecord, type Recorder } from '../recorder/recorder';
import { managedKeyHeader, type Access } from './access';
import { Attempt, type AttemptResult, type AttemptSpec } from './attempt';
import { buildRecord, type CallEnd, type CallState } from './finish';
import type { RouteHealth } from './health';
import { acceptsStreamOptions, RequestBody } from './request';
import { afterResponse, countLost } from './response';
import { readsTails } from '../../core/resilience/decisions';
import type { RouteTails } from './tails';
import { fallbackRequestHeaders, upstreamRequestHeaders, upstreamUrl } from './upstream';
import { estimateUsage } from '../usage/estimate';
import { requestText } from '../usage/request-text';

/** What the attempt loop needs of the isolate besides the plain path's dependencies. */
export interface PolicyDeps {
  readonly config: ResolvedConfig;
  readonly recorder: Recorder;
  readonly now: () => number;
  readonly health: RouteHealth;
  /** The targets' measured tails and the routes' hedge budgets, as this isolate keeps them. */
  readonly tails: RouteTails;
  /** Backoff jitter and the strategies' exploration (tests pass their own). */
  readonly random: () => number;
}

/** A call as the plain path prepared it, for the attempt loop. */
export interface PolicyCall {
  readonly req: Request;
  readonly ctx: { waitUntil(promise: Promise<unknown>): void };
  /** The call as the path names it: its start, route, team, the client's body... */
  readonly call: CallState;
  readonly rest: string;
  readonly search: string;
  readonly access: Access;
  readonly ticket: BudgetTicket | null;
}

const encoder = new TextEncoder();

/**
 * A call under a route's policy (`POLICIES`): attempts at the policy's targets in order — retried, replaced, given up
 * at their first-token deadline — until one is the client's answer. Only ever before the first byte reaches the
 * client: after that the call is the client's, and a failure mid-stream is passed on and recorded as such. The
 * client gets the answer's status, headers and bytes as they came, plus `x-sla-served-by` and `x-sla-attempts`.
 * Access and the budget were checked once, before (handler.ts); the record (one per call, with its attempts) and
 * the spend (every attempt's cost) are filed in waitUntil.
 */
export async function keepSla(c: PolicyCall, policy: ResolvedPolicy, deps: PolicyDeps): Promise<Response> {
  const { config, now, health } = deps;
  const { call, ctx } = c;
  const spec = policy.breaker;
  const startAt = now();
  // The tails the decisions read (the route's targets as the route objects last said), refreshed off the path.
  let tails: Tails = NO_TAILS;
  if (readsTails(policy)) {
    const reading = deps.tails.refresh(call.route, config.routeShards, startAt);
    if (reading) ctx.waitUntil(reading);
    tails = deps.tails.of(call.route);
  }
  const planned = planOf(policy, call.provider.name, call.provider.format, config);
  const breakerOf = (label: string) => (spec === null ? null : health.breaker(call.route, label, spec));
  const ordering = orderTargets(policy.strategy, planned.targets.map((t) => t.label), tails, (i) => breakerOf(planned.targets[i]?.label ?? '')?.peek(startAt) ?? 'closed', policy.minSamples, deps.random);
  const targets = ordering.order.map((i) => planned.targets[i] as PlanTarget);
  const plan = { targets, skipped: planned.skipped };
  const attempts = new AttemptPlan(plan.targets, policy);
  const skipped: SkippedTarget[] = [...plan.skipped];
  const deadlineAt = policy.timeoutMs === null ? null : call.start + policy.timeoutMs;
  const breakers = spec === null ? null : plan.targets.map((t) => breakerOf(t.label) as Breaker);
  if (spec !== null) {
    const reading = health.refresh(ctx, call.route, config.routeShards, plan.targets.map((t) => t.label), spec, now());
    if (reading) ctx.waitUntil(reading);
  }
  const specs = new Map<number, TargetRequest>();
  // A body that never names "stream" is not parsed for it (as on the plain path).
  const stream = call.body.raw.includes('"stream"') && call.body.json()?.['stream'] === true;
  const hedging = policy.hedge === null ? null : { spec: policy.hedge, budget: deps.tails.budget(call.route, policy.hedge.maxRatio) };
  hedging?.budget.call(startAt);
  let hedge: HedgeFacts | null = null;

  const done: Attempt[] = [];
  const running = new Set<Attempt>();
  let clientGone = false;
  let wake: (() => void) | null = null;
  const onAbort = () => {
    clientGone = true;
    for (const a of running) a.cancel('client');
    wake?.();
  };
  c.req.signal.addEventListener('abort', onAbort, { once: true });
  const stepContext = (): StepContext => {
    const at = now();
    return {
      now: at,
      deadlineAt,
      allow: (i) => breakers?.[i]?.allow(at) ?? true,
      random: deps.random,
      skip: (i) => skipped.push({ target: plan.targets[i]?.label ?? '', reason: 'breaker_open' }),
    };
  };
  /** The next target after `index` a hedge may go to: one whose breaker is closed (never an open one, nor a probe). */
  const hedgeTarget = (index: number, at: number): number | null => {
    for (let j = index + 1; j < plan.targets.length; j++) if ((breakers?.[j]?.peek(at) ?? 'closed') === 'closed') return j;
    return null;
  };
  /** When a hedge of an attempt at `index` would go (ms after its start), or null when none can. */
  const hedgeAfter = (index: number, at: number): number | null => {
    if (hedging === null || hedge !== null || hedgeTarget(index, at) === null) return null;
    return hedgeDelay(hedging.spec, tails.get(plan.targets[index]?.label ?? ''), stream);
  };
  const start = (index: number, at: number, held: boolean): Attempt => {
    const target = plan.targets[index] as PlanTarget;
    const base = specs.get(index) ?? specFor(c, target, config);
    specs.set(index, base);
    const left = deadlineAt === null ? Number.POSITIVE_INFINITY : deadlineAt - at;
    const firstToken = firstTokenDeadline(policy.derivedFirstToken, policy.firstTokenTimeoutMs, tails.get(target.label));
    const attempt = new Attempt(
      {
        ...base,
        index: done.length,
        hold: stream && held,
        firstTokenBy: firstToken.ms === null ? null : at + firstToken.ms,
        deadlineAt,
        waitMs: Math.min(config.upstreamTimeoutMs, left),
      },
      config,
      now,
    );
    attempt.firstToken = firstToken;
    done.push(attempt);
    running.add(attempt);
    void attempt.result.finally(() => running.delete(attempt));
    return attempt;
  };
  /**
   * Waits for an attempt to be decided. When the policy hedges and the attempt has no first token (a stream) or no
   * response (otherwise) by its hedge delay, and the route's hedge budget has a token, a second attempt goes to the
   * next target whose breaker is closed: the first of the two to answer is the call's, the other is cancelled
   * upstream; a failure waits for the other. Returns the attempts in the order they were decided, the deciding one
   * last (with the later target of the two: the plan goes on from there).
   */
  const decide = async (attempt: Attempt, index: number): Promise<Decided[]> => {
    const after = hedgeAfter(index, attempt.startedAt);
    if (after === null || hedging === null) return [{ attempt, index, result: await attempt.result }];
    const early = await beforeTimer(attempt.result, attempt.startedAt + after - now());
    const at = now();
    const to = hedgeTarget(index, at);
    if (early !== null || clientGone || to === null || !hedging.budget.take(at)) return [{ attempt, index, result: early ?? (await attempt.result) }];
    const second = start(to, at, true);
    second.hedge = true;
    hedge = { attempt: second, afterMs: after };
    const out: Decided[] = [];
    const pending = new Map<Attempt, number>([
      [attempt, index],
      [second, to],
    ]);
    while (pending.size > 0) {
      const { a, result } = await Promise.race([...pending.keys()].map((a) => a.result.then((result) => ({ a, result }))));
      pending.delete(a);
      if (result.kind === 'answer') {
        for (const other of pending.keys()) {
          other.reason = HEDGE_LOST;
          other.cancel('lost');
        }
        out.push({ attempt: a, index: to, result });
        return out;
      }
      out.push({ attempt: a, index: pending.size > 0 ? (a === attempt ? index : to) : to, result });
    }
    return out;
  };

  let step: Step | null = attempts.first(stepContext());
  let answer: Attempt | null = null;
  let lastAnswered: Attempt | null = null;
  let outOfTime = false;
  loop: while (step !== null && step.kind !== 'stop') {
    if (step.kind === 'retry' && step.delayMs > 0) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, step?.kind === 'retry' ? step.delayMs : 0);
      });
      wake = null;
    }
    if (clientGone) break;
    const at = now();
    if (deadlineAt !== null && at >= deadlineAt) {
      outOfTime = true;
      break;
    }
    const index = step.target;
    // A stream is held until its first token when it could still be replaced: a deadline, or a hedge, with another
    // attempt possible after it. The call's deadline bounds the attempt's wait for headers (`waitMs`) and its hold
    // (`deadlineAt`): past it, no attempt starts, and one that answered is the client's.
    const deadline = firstTokenDeadline(policy.derivedFirstToken, policy.firstTokenTimeoutMs, tails.get(plan.targets[index]?.label ?? ''));
    const attempt = start(index, at, (deadline.ms !== null || hedgeAfter(index, at) !== null) && attempts.more(index));
    attempt.forced = step.kind === 'next' && step.forced;
    const decided = await decide(attempt, index);
    for (const [k, d] of decided.entries()) {
      const last = k === decided.length - 1;
      if (clientGone || d.result.kind === 'cancelled') {
        if (last) break loop;
        continue;
      }
      if (d.result.kind === 'answer') {
        answer = d.attempt;
        break loop;
      }
      if (spec !== null) health.record(ctx, call.route, d.attempt.spec.target.label, spec, outcomeOf(d.result.failure), now(), d.attempt.forced);
      if (d.result.answered) lastAnswered = d.attempt;
      if (!last) {
        // The other attempt of a hedge is still on its way: the call waits for it.
        d.attempt.reason = failureReason(d.result.failure);
        continue;
      }
      const next = attempts.after(d.index, d.result.failure, d.result.retryAfterMs, stepContext());
      if (next.kind === 'stop') {
        if (next.why === 'not_retryable' && d.result.answered) answer = d.attempt;
        break loop;
      }
      d.attempt.reason = failureReason(d.result.failure);
      step = next;
    }
  }
  const delivered = answer ?? (clientGone ? null : lastAnswered);
  for (const a of done) if (a !== delivered) a.discard();
  const last = done.at(-1) ?? null;
  const headers = (res: Response) => {
    if (delivered) res.headers.set('x-sla-served-by', delivered.spec.target.label);
    res.headers.set('x-sla-attempts', String(done.length));
    return res;
  };
  const decisions: CallDecisions = { explored: ordering.explored === null ? null : (planned.targets[ordering.explored]?.label ?? null), hedge };
  const filed = (delivered ?? last)?.ended() ?? Promise.resolve(null);
  ctx.waitUntil(
    filed
      .then(async (end) => {
        c.req.signal.removeEventListener('abort', onAbort);
        await afterResponse();
        const record = await callRecord(c, policy, delivered, done, skipped, end, { clientGone, outOfTime }, decisions, deps);
        const spend = c.ticket === null ? null : c.ticket.cache.spend({ ...record, estimatedUsd: estimatedCost(record) }, c.ticket.reservation);
        await Promise.all([safeRecord(deps.recorder, record), spend]);
      })
      .catch(countLost),
  );
  if (delivered) return stampBudget(c.ticket, headers(delivered.deliver()));
  return headers(failure(c, last, { clientGone, outOfTime }, policy).getResponse());
}

/** An attempt as a hedge race decided it, at the target index the plan goes on from. */
interface Decided {
  readonly attempt: Attempt;
  readonly index: number;
  readonly result: AttemptResult;
}

/** The hedge a call sent (at most one): the second attempt, and when it went. */
interface HedgeFacts {
  readonly attempt: Attempt;
  readonly afterMs: number;
}

/** What the record says of a call's decisions beside its attempts. */
interface CallDecisions {
  readonly explored: string | null;
  readonly hedge: HedgeFacts | null;
}

/** The promise's value if it settles within `ms`, else null (the timer fired first). */
function beforeTimer<T>(p: Promise<T>, ms: number): Promise<T | null> {
  if (ms <= 0) return Promise.race([p, Promise.resolve(null)]);
  return new Promise<T | null>((resolve, reject) => {
    const timer = setTimeout(() => resolve(null), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Each route's plan per provider its path names: made once (a resolved policy is one route's, kept by the isolate). */
const plans = new WeakMap<ResolvedPolicy, Map<string, ReturnType<typeof planTargets>>>();
function planOf(policy: ResolvedPolicy, provider: string, format: string, config: ResolvedConfig): ReturnType<typeof planTargets> {
  let byProvider = plans.get(policy);
  if (!byProvider) plans.set(policy, (byProvider = new Map()));
  let plan = byProvider.get(provider);
  if (!plan) {
    plan = planTargets(policy, { provider, format }, (name) => {
      const p = config.providers.get(name);
      return p && { format: p.format, managedKey: config.managedKeys.has(name) };
    });
    byProvider.set(provider, plan);
  }
  return plan;
}

/** The gateway's own answer when no attempt gave one the client can have. */
function failure(c: PolicyCall, last: Attempt | null, how: { clientGone: boolean; outOfTime: boolean }, policy: ResolvedPolicy): GatewayError {
  const format = c.call.provider.format;
  if (how.clientGone) return new GatewayError(499, 'client_closed', 'The client closed the request.', format);
  const name = last?.spec.provider.name ?? c.call.provider.name;
  if (how.outOfTime || last?.timedOut) {
    const within = how.outOfTime && policy.timeoutMs !== null ? `${policy.timeoutMs} ms (the route's timeout_ms)` : 'its deadline';
    return new GatewayError(504, 'upstream_timeout', `${name} did not answer within ${within}.`, format);
  }
  return new GatewayError(502, 'upstream_unreachable', `Could not reach ${name}.`, format);
}

/** What one target gets: its URL, its headers (the client's key only for the path's own provider), its body. */
type TargetRequest = Omit<AttemptSpec, 'index' | 'hold' | 'firstTokenBy' | 'deadlineAt' | 'waitMs'>;

function specFor(c: PolicyCall, target: PlanTarget, config: ResolvedConfig): TargetRequest {
  const provider = config.providers.get(target.provider);
  const key = config.managedKeys.get(target.provider);
  if (!provider || (!target.own && key === undefined)) throw new Error(`target ${target.label} is not usable`);
  const headers = target.own ? upstreamRequestHeaders(c.req.headers, c.access.addHeaders) : fallbackRequestHeaders(c.req.headers, managedKeyHeader(provider, key as string));
  // The path's own provider: the URL the plain path already made.
  const url = provider === c.call.provider ? c.call.upstream : upstreamUrl(provider, c.rest, c.search);
  const body = target.model === null ? c.call.body : withModel(c.call.body, target.model);
  const json = config.injectStreamUsage && provider.injectStreamUsage && acceptsStreamOptions(c.call.operation) && body.raw.includes('"stream"') ? body.json() : null;
  let payload: BodyInit | null = body.bytes;
  let injected = false;
  if (
    json?.['stream'] === true &&
    (json['stream_options'] as { include_usage?: unknown } | undefined)?.include_usage !== true
  ) {
    payload = injectIncludeUsage(body.raw, json);
    injected = true;
  }
  return { target, provider, url, method: c.req.method, headers, body, payload, injected };
}

/** The request with another `model` (a target that names one); a body that is not a JSON object goes as it is. */
function withModel(body: RequestBody, model: string): RequestBody {
  const json = body.json();
  if (json === null) return body;
  return new RequestBody(encoder.encode(JSON.stringify({ ...json, model })));
}

/** The outcome a failure counts as, for the target's breaker. */
function outcomeOf(f: AttemptFailure): Outcome {
  switch (f.kind) {
    case 'status':
      return f.status === 429 ? 'rate_limited' : f.status >= 500 ? 'upstream_error' : 'client_error';
    case 'stream_error':
      return f.rateLimited ? 'rate_limited' : 'upstream_error';
    case 'network_error':
      return 'network_error';
    default:
      return 'timeout';
  }
}

function stateOf(c: PolicyCall, a: Attempt, start: number): CallState {
  return {
    ...c.call,
    start,
    provider: a.spec.provider,
    body: a.spec.body,
    upstream: a.spec.url,
    status: a.status,
    headersAt: a.headersAt,
    stream: a.sse,
    clientAborted: a.clientAborted,
    timedOut: a.timedOut,
  };
}

/**
 * The call's one record: the call as the client saw it (the answer's status and facts, times from the request's
 * arrival; or the gateway's own error), with every attempt as its target saw it and every attempt's cost.
 */
async function callRecord(
  c: PolicyCall,
  policy: ResolvedPolicy,
  delivered: Attempt | null,
  done: readonly Attempt[],
  skipped: readonly SkippedTarget[],
  deliveredEnd: CallEnd | null,
  how: { clientGone: boolean; outOfTime: boolean },
  decisions: CallDecisions,
  deps: PolicyDeps,
): Promise<CallRecord> {
  const { config } = deps;
  const start = c.call.start;
  let base: CallRecord;
  if (delivered && deliveredEnd) {
    // The call as the client asked for it (its model, its messages), answered by the delivered attempt.
    const state = { ...stateOf(c, delivered, start), body: c.call.body, clientAborted: delivered.clientAborted || how.clientGone };
    base = await buildRecord(state, deliveredEnd, delivered.facts, config);
  } else {
    const last = done.at(-1);
    const state: CallState = last
      ? { ...stateOf(c, last, start), status: 0, headersAt: null, clientAborted: how.clientGone, timedOut: how.outOfTime || last.timedOut }
      : { ...c.call, status: 0, clientAborted: how.clientGone, timedOut: how.outOfTime };
    base = await buildRecord(state, { at: deps.now(), kind: null, firstByteAt: null, capture: null }, new ResponseFacts(), config);
  }
  const attempts: AttemptRecord[] = [];
  for (const a of done) {
    const atMs = Math.max(0, a.startedAt - start);
    if (a === delivered && deliveredEnd) {
      // The answer's own record is the call's, its times counted from the attempt's start.
      attempts.push(attemptOf(a, base, atMs, Math.max(0, base.totalMs - atMs), base.ttftMs === null ? null : Math.max(0, base.ttftMs - atMs)));
      continue;
    }
    const end = await a.ended();
    const r = await withInputEstimate(a, await buildRecord(stateOf(c, a, a.startedAt), end, a.facts, config, { content: false }), config);
    // A stream given up before its first token had waited this long for it at least: its target's TTFT is no shorter.
    // Not so a hedge let go because the attempt it hedged answered first: it waited only as long as the race lasted,
    // which says nothing of its target's tail.
    const lostHedge = a.hedge && a.givenUp === 'lost';
    const waited = a.givenUp !== null && a.givenUp !== 'client' && !lostHedge && a.sse && a.facts.firstTokenAt === null ? Math.max(0, end.at - a.startedAt) : null;
    attempts.push(attemptOf(a, r, atMs, r.totalMs, r.ttftMs ?? waited));
  }
  const delivery = delivered ? attempts[done.indexOf(delivered)] : undefined;
  if (delivered && delivery && policy.breaker) {
    deps.health.record(c.ctx, c.call.route, delivery.target, policy.breaker, delivery.outcome, deps.now(), delivered.forced);
  }
  const priced = attempts.filter((a) => a.costUsd !== null);
  const hedge = decisions.hedge;
  const resilience: CallResilience = {
    servedBy: delivered?.spec.target.label ?? null,
    attempts,
    skipped,
    ...(policy.strategy !== 'ordered' ? { strategy: policy.strategy, explored: decisions.explored } : {}),
    ...(hedge ? { hedge: { target: hedge.attempt.spec.target.label, afterMs: hedge.afterMs, result: delivered === hedge.attempt ? 'won' : 'lost' } } : {}),
  };
  return { ...base, costUsd: priced.length ? priced.reduce((s, a) => s + (a.costUsd as number), 0) : null, resilience };
}

/**
 * A hedge's loser let go before any answer (a non-streamed call, or a stream before its headers) has no status, so
 * the record estimates nothing: yet the provider had the request and bills at least its input. Its input tokens are
 * estimated and priced (labelled `estimated`), so the team's spend counts what the hedge cost.
 */
async function withInputEstimate(a: Attempt, r: CallRecord, config: ResolvedConfig): Promise<CallRecord> {
  if (a.givenUp !== 'lost' || r.usage !== null || !config.tokenEstimate) return r;
  const json = a.spec.body.json();
  if (json === null) return r;
  const usage = await estimateUsage(requestText(json), '');
  if (usage === null) return r;
  return { ...r, usage, usageSource: 'estimated', costUsd: costUsd(findPrice(config.prices, a.spec.provider.name, r.requestModel), usage) };
}

function attemptOf(a: Attempt, r: CallRecord, atMs: number, totalMs: number, ttftMs: number | null): AttemptRecord {
  return {
    target: a.spec.target.label,
    provider: a.spec.provider.name,
    model: a.spec.target.model,
    outcome: r.outcome,
    status: a.status,
    errorType: r.errorType,
    atMs,
    totalMs,
    ttftMs,
    usage: r.usage,
    usageSource: r.usageSource,
    costUsd: r.costUsd,
    reason: a.reason,
    server: r.server,
    ...(a.hedge ? { hedge: true } : {}),
    ...(a.firstToken && a.firstToken.source !== 'none' ? { firstTokenTimeout: { ms: a.firstToken.ms as number, source: a.firstToken.source } } : {}),
  };
}

/** The part of a call's cost that rests on estimated tokens (its attempts' without the provider's usage). */
function estimatedCost(record: CallRecord): number {
  return (record.resilience?.attempts ?? []).reduce((s, a) => s + (a.usageSource === 'estimated' ? (a.costUsd ?? 0) : 0), 0);
}
