import type { ResolvedConfig } from '../../config/resolve';
import type { Outcome } from '../../core/record';
import type { AttemptRecord, CallRecord, CallResilience } from '../../core/record';
import type { Breaker } from '../../core/resilience/breaker';
import { firstTokenDeadline, HEDGE_LOST, hedgeDelay } from '../../core/resilience/deadline';
import { percentilesRead, readsTails } from '../../core/resilience/decisions';
import type { HedgeBudget } from '../../core/resilience/hedge-budget';
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
import { withServerTiming } from './server-timing';
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

/** How the attempt loop ended: the attempt the client gets (null: the gateway answers itself), and why. */
interface LoopEnd {
  readonly delivered: Attempt | null;
  /** When the loop had its answer (the attempt that is the client's, or the last one, was decided). */
  readonly decidedAt: number;
  readonly attempts: readonly Attempt[];
  readonly skipped: readonly SkippedTarget[];
  readonly clientGone: boolean;
  readonly outOfTime: boolean;
  /** The target a strategy sent first to explore it (null: the best measured, or as listed). */
  readonly explored: string | null;
  /** The hedge the call sent (at most one): the second attempt, and when it went. */
  readonly hedge: { readonly attempt: Attempt; readonly afterMs: number } | null;
}

/** An attempt decided, at the plan's target the loop goes on from (a hedge race: the later of its two). */
interface Decided {
  readonly attempt: Attempt;
  readonly result: AttemptResult;
  readonly slot: number;
}

const encoder = new TextEncoder();

/**
 * A call under a route's policy (`POLICIES`): attempts at the policy's targets — in order, or by their measured tails
 * (`strategy`) — retried, replaced, given up at their first-token deadline (fixed, or derived from the target's
 * tail), hedged by a second concurrent attempt when slow (`hedge`), until one is the client's answer. Only ever before the first byte reaches the
 * client: after that the call is the client's, and a failure mid-stream is passed on and recorded as such. The
 * client gets the answer's status, headers and bytes as they came, plus `x-sla-served-by`, `x-sla-attempts` and
 * `Server-Timing` (the attempts and their waits count as the upstream's time). Access and the budget were checked
 * once, before (handler.ts); the record (one per call, with its attempts) and the spend (every attempt's cost) are
 * filed in waitUntil.
 */
export async function keepSla(c: PolicyCall, policy: ResolvedPolicy, deps: PolicyDeps): Promise<Response> {
  const { call, ctx } = c;
  const loop = new AttemptLoop(c, policy, deps);
  const end = await loop.run();
  // Decided: a client that leaves now cancels the answer's body (its stream), as on the plain path.
  loop.detach();
  const { delivered, attempts } = end;
  call.timing.fetchAt = attempts[0]?.startedAt ?? null;
  call.timing.upstreamDoneAt = attempts.length > 0 ? end.decidedAt : null;
  if (attempts.length > 1) for (const a of attempts) if (a !== delivered) a.discard();
  ctx.waitUntil(
    ((delivered ?? attempts.at(-1))?.ended() ?? Promise.resolve(null))
      .then(async (deliveredEnd) => {
        await afterResponse();
        const record = await callRecord(c, policy, end, delivered ? deliveredEnd : null, deps);
        if (c.ticket === null) return safeRecord(deps.recorder, record);
        const spend = c.ticket.cache.spend({ ...record, estimatedUsd: estimatedCost(record) }, c.ticket.reservation);
        await Promise.all([safeRecord(deps.recorder, record), spend]);
      })
      .catch(countLost),
  );
  const res = delivered ? delivered.deliver() : failure(c, attempts.at(-1) ?? null, end, policy).getResponse();
  if (delivered) res.headers.set('x-sla-served-by', delivered.spec.target.label);
  res.headers.set('x-sla-attempts', String(attempts.length));
  return delivered ? withServerTiming(stampBudget(c.ticket, res), call.start, call.timing, deps.now()) : res;
}

/**
 * One call's attempts. Each attempt is an object with its own abort controller (attempt.ts); the loop starts them
 * as the plan (src/core/resilience/plan.ts, pure) says, and waits for whichever running attempt is decided first
 * (`running`: one, or two while a hedge races the attempt it hedged). The loop is the plan's `StepContext` itself
 * (no object per decision).
 */
class AttemptLoop implements StepContext {
  private readonly targets: readonly PlanTarget[];
  private readonly plan: AttemptPlan;
  private readonly skipped: SkippedTarget[];
  readonly deadlineAt: number | null;
  readonly random: () => number;
  private readonly breakers: readonly Breaker[] | null;
  /** The route's targets' tails as this isolate last read them (none when the policy decides nothing from them). */
  private readonly tails: Tails = NO_TAILS;
  private readonly explored: string | null;
  private readonly hedging: { readonly spec: NonNullable<ResolvedPolicy['hedge']>; readonly budget: HedgeBudget } | null;
  private hedge: LoopEnd['hedge'] = null;
  /** Each target's request, made on its first attempt. */
  private readonly requests: (TargetRequest | undefined)[] = [];
  /** A body that never names "stream" is not parsed for it (as on the plain path). */
  private readonly stream: boolean;
  private readonly attempts: Attempt[] = [];
  private readonly running = new Set<Attempt>();
  private clientGone = false;
  private wake: (() => void) | null = null;
  private readonly onAbort = () => {
    this.clientGone = true;
    for (const a of this.running) a.cancel('client');
    this.wake?.();
  };

  constructor(
    private readonly c: PolicyCall,
    private readonly policy: ResolvedPolicy,
    private readonly deps: PolicyDeps,
  ) {
    const { call, ctx } = c;
    const { config, health, now } = deps;
    const at = now();
    if (readsTails(policy)) {
      // The tails the decisions read: the route objects' last answer, read again in waitUntil every few seconds.
      const reading = deps.tails.refresh(call.route, config.routeShards, at, () => percentilesRead(policy));
      if (reading) ctx.waitUntil(reading);
      this.tails = deps.tails.of(call.route);
    }
    const spec = policy.breaker;
    const breakerOf = (t: PlanTarget) => (spec === null ? null : health.breaker(call.route, t.label, spec));
    const planned = planOf(policy, call.provider.name, call.provider.format, config);
    if (policy.strategy === 'ordered') {
      this.targets = planned.targets;
      this.explored = null;
    } else {
      const labels = planned.targets.map((t) => t.label);
      const order = orderTargets(policy.strategy, labels, this.tails, (i) => breakerOf(planned.targets[i] as PlanTarget)?.peek(at) ?? 'closed', policy.minSamples, deps.random);
      this.targets = order.order.map((i) => planned.targets[i] as PlanTarget);
      this.explored = order.explored === null ? null : (labels[order.explored] ?? null);
    }
    this.skipped = planned.skipped.length === 0 ? [] : [...planned.skipped];
    this.random = deps.random;
    this.plan = new AttemptPlan(this.targets, policy);
    this.deadlineAt = policy.timeoutMs === null ? null : call.start + policy.timeoutMs;
    this.breakers = spec === null ? null : this.targets.map((t) => breakerOf(t) as Breaker);
    this.hedging = policy.hedge === null ? null : { spec: policy.hedge, budget: deps.tails.budget(call.route, policy.hedge.maxRatio) };
    this.hedging?.budget.call(at);
    if (spec !== null) {
      // Every isolate's recent outcomes, from the route objects: read in waitUntil, at most every few seconds.
      const reading = health.refresh(ctx, call.route, config.routeShards, this.targets.map((t) => t.label), spec, now());
      if (reading) ctx.waitUntil(reading);
    }
    this.stream = call.body.raw.includes('"stream"') && call.body.json()?.['stream'] === true;
    c.req.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Stops listening for the client's abort (once the loop has its answer). */
  detach(): void {
    this.c.req.signal.removeEventListener('abort', this.onAbort);
  }

  /** The clock, read when the plan asks (`StepContext`). */
  get now(): number {
    return this.deps.now();
  }

  /** Whether the breaker of target `i` lets a call through now (asked only of the target about to be chosen). */
  allow(i: number): boolean {
    return this.breakers?.[i]?.allow(this.deps.now()) ?? true;
  }

  skip(i: number): void {
    this.skipped.push({ target: this.targets[i]?.label ?? '', reason: 'breaker_open' });
  }

  async run(): Promise<LoopEnd> {
    let step: Step | null = this.plan.first(this);
    let delivered: Attempt | null = null;
    let lastAnswered: Attempt | null = null;
    let outOfTime = false;
    let decidedAt = this.deps.now();
    while (step !== null && step.kind !== 'stop') {
      if (step.kind === 'retry' && step.delayMs > 0) await this.sleep(step.delayMs);
      if (this.clientGone) break;
      if (this.deadlineAt !== null && this.deps.now() >= this.deadlineAt) {
        outOfTime = true;
        break;
      }
      const decided = await this.decide(this.start(step.target, step.kind === 'next' && step.forced));
      decidedAt = this.deps.now();
      let next: Step | null = null;
      for (const [k, { attempt, result, slot }] of decided.entries()) {
        if (this.clientGone || result.kind === 'cancelled') continue;
        if (result.kind === 'answer') {
          delivered = attempt;
          break;
        }
        const spec = this.policy.breaker;
        if (spec !== null) this.deps.health.record(this.c.ctx, this.c.call.route, attempt.spec.target.label, spec, outcomeOf(result.failure), this.deps.now(), attempt.forced);
        if (result.answered) lastAnswered = attempt;
        if (k < decided.length - 1) {
          // The other attempt of a hedge was still on its way: the call waited for it.
          attempt.reason = failureReason(result.failure);
          continue;
        }
        const after = this.plan.after(slot, result.failure, result.retryAfterMs, this);
        if (after.kind === 'stop') {
          if (after.why === 'not_retryable' && result.answered) delivered = attempt;
          break;
        }
        attempt.reason = failureReason(result.failure);
        next = after;
      }
      if (delivered !== null || next === null) break;
      step = next;
    }
    // Out of attempts (or time): the last answer an upstream gave (a 503 with its body) is the client's.
    delivered ??= this.clientGone ? null : lastAnswered;
    return { delivered, decidedAt, attempts: this.attempts, skipped: this.skipped, clientGone: this.clientGone, outOfTime, explored: this.explored, hedge: this.hedge };
  }

  /**
   * Waits for an attempt to be decided. When the policy hedges and the attempt has no first token (a stream) or no
   * response (otherwise) by its hedge delay, and the route's hedge budget has a token, a second attempt goes to the
   * next target whose breaker is closed: the first of the two to answer is the call's and the other is cancelled
   * upstream; a failure waits for the other. The attempts in the order they were decided, the deciding one last.
   */
  private async decide(first: Attempt): Promise<Decided[]> {
    const slot = first.spec.slot;
    const after = this.hedgeAfter(slot, first.startedAt);
    const hedging = this.hedging;
    if (after !== null && hedging !== null) {
      const early = await beforeTimer(this.settled(), first.startedAt + after - this.deps.now());
      const at = this.deps.now();
      const to = early === null && !this.clientGone ? this.hedgeTarget(slot, at) : null;
      if (early !== null) {
        this.running.delete(early.attempt);
        return [{ ...early, slot }];
      }
      if (to !== null && hedging.budget.take(at)) {
        const second = this.start(to, false, true);
        this.hedge = { attempt: second, afterMs: after };
        const out: Decided[] = [];
        while (this.running.size > 0) {
          const { attempt, result } = await this.settled();
          this.running.delete(attempt);
          if (result.kind === 'answer') {
            for (const other of this.running) {
              other.reason = HEDGE_LOST;
              other.cancel('lost');
            }
            this.running.clear();
          }
          out.push({ attempt, result, slot: to });
          if (result.kind === 'answer') break;
        }
        return out;
      }
    }
    const { attempt, result } = await this.settled();
    this.running.delete(attempt);
    return [{ attempt, result, slot }];
  }

  /** The next target after `slot` a hedge may go to: one whose breaker is closed (never an open one, nor one due for its probe). */
  private hedgeTarget(slot: number, at: number): number | null {
    for (let j = slot + 1; j < this.targets.length; j++) if ((this.breakers?.[j]?.peek(at) ?? 'closed') === 'closed') return j;
    return null;
  }

  /** When a hedge of an attempt at `slot` would go (ms after its start), or null when none can. */
  private hedgeAfter(slot: number, at: number): number | null {
    if (this.hedging === null || this.hedge !== null || this.hedgeTarget(slot, at) === null) return null;
    return hedgeDelay(this.hedging.spec, this.tails.get(this.targets[slot]?.label ?? ''), this.stream);
  }

  /**
   * Starts an attempt at the plan's target `index` (`hedge`: the second attempt of a hedge race). Its first-token
   * deadline is the target's derived one, or the fixed one. A stream is held until its first token when it could
   * still be replaced — by a later attempt after its deadline, or by the other attempt of a hedge — and an error
   * answer is read whole for the same reason.
   */
  private start(index: number, forced: boolean, hedge = false): Attempt {
    const { config, now } = this.deps;
    const at = now();
    const target = this.targets[index] as PlanTarget;
    const base = (this.requests[index] ??= requestFor(this.c, target, config));
    const left = this.deadlineAt === null ? Number.POSITIVE_INFINITY : this.deadlineAt - at;
    const firstToken = firstTokenDeadline(this.policy.derivedFirstToken, this.policy.firstTokenTimeoutMs, this.tails.get(target.label));
    const more = this.plan.more(index);
    const replaceable = hedge || (more && (firstToken.ms !== null || this.hedgeAfter(index, at) !== null));
    const attempt = new Attempt(
      {
        ...base,
        index: this.attempts.length,
        slot: index,
        hold: this.stream && replaceable,
        firstTokenBy: firstToken.ms === null ? null : at + firstToken.ms,
        deadlineAt: this.deadlineAt,
        waitMs: Math.min(config.upstreamTimeoutMs, left),
        // An error answer is read whole only when another attempt may replace it; the last one passes through.
        keepStatuses: more || hedge ? this.policy.retryOn.statuses : null,
      },
      config,
      now,
    );
    attempt.forced = forced;
    attempt.hedge = hedge;
    attempt.firstToken = firstToken;
    this.attempts.push(attempt);
    this.running.add(attempt);
    return attempt;
  }

  /** The first running attempt to be decided. */
  private async settled(): Promise<{ attempt: Attempt; result: AttemptResult }> {
    if (this.running.size === 1) {
      const attempt = this.running.values().next().value as Attempt;
      return { attempt, result: await attempt.result };
    }
    return Promise.race([...this.running].map((attempt) => attempt.result.then((result) => ({ attempt, result }))));
  }

  /** Waits `ms` (a backoff), or less when the client leaves. */
  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      setTimeout(resolve, ms);
    });
    this.wake = null;
  }
}

/**
 * Whether a route's policy does anything for a call on this provider's path: false when its plan is the path's own
 * provider alone, as it is, with no retry and no deadline (then the call takes the plain path: a breaker over one
 * target could only ever let it through). Asked per call; the plan is made once.
 */
export function policyActs(policy: ResolvedPolicy, provider: { name: string; format: string }, config: ResolvedConfig): boolean {
  const { targets } = planOf(policy, provider.name, provider.format, config);
  const only = targets.length === 1 ? targets[0] : undefined;
  return targets.length > 1 || (only !== undefined && (!only.own || only.model !== null || policy.retries > 0 || policy.timeoutMs !== null));
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
function failure(c: PolicyCall, last: Attempt | null, how: Pick<LoopEnd, 'clientGone' | 'outOfTime'>, policy: ResolvedPolicy): GatewayError {
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
type TargetRequest = Omit<AttemptSpec, 'index' | 'slot' | 'hold' | 'firstTokenBy' | 'deadlineAt' | 'waitMs' | 'keepStatuses'>;

function requestFor(c: PolicyCall, target: PlanTarget, config: ResolvedConfig): TargetRequest {
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
  if (json?.['stream'] === true && (json['stream_options'] as { include_usage?: unknown } | undefined)?.include_usage !== true) {
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
    stream: c.call.stream || a.sse,
    clientAborted: a.clientAborted,
    timedOut: a.timedOut,
  };
}

/**
 * The call's one record: the call as the client saw it (the answer's status and facts, times from the request's
 * arrival; or the gateway's own error), with every attempt as its target saw it and every attempt's cost.
 */
async function callRecord(c: PolicyCall, policy: ResolvedPolicy, end: LoopEnd, deliveredEnd: CallEnd | null, deps: PolicyDeps): Promise<CallRecord> {
  const { config } = deps;
  const { delivered, attempts: done } = end;
  const start = c.call.start;
  let base: CallRecord;
  if (delivered && deliveredEnd) {
    // The call as the client asked for it (its model, its messages), answered by the delivered attempt.
    const state = { ...stateOf(c, delivered, start), body: c.call.body, clientAborted: delivered.clientAborted || end.clientGone };
    base = await buildRecord(state, deliveredEnd, delivered.facts, config);
  } else {
    const last = done.at(-1);
    const state: CallState = last
      ? { ...stateOf(c, last, start), status: 0, headersAt: null, clientAborted: end.clientGone, timedOut: end.outOfTime || last.timedOut }
      : { ...c.call, status: 0, clientAborted: end.clientGone, timedOut: end.outOfTime };
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
    const aEnd = await a.ended();
    const r = await withInputEstimate(a, await buildRecord(stateOf(c, a, a.startedAt), aEnd, a.facts, config, { content: false }), config);
    // A stream given up before its first token had waited this long for it at least: its target's TTFT is no shorter.
    // Not so a hedge let go because the attempt it hedged answered first: it waited only as long as the race lasted,
    // which says nothing of its target's tail.
    const lostHedge = a.hedge && a.givenUp === 'lost';
    const waited = a.givenUp !== null && a.givenUp !== 'client' && !lostHedge && a.sse && a.facts.firstTokenAt === null ? Math.max(0, aEnd.at - a.startedAt) : null;
    attempts.push(attemptOf(a, r, atMs, r.totalMs, r.ttftMs ?? waited));
  }
  const delivery = delivered ? attempts[done.indexOf(delivered)] : undefined;
  if (delivered && delivery && policy.breaker) {
    deps.health.record(c.ctx, c.call.route, delivery.target, policy.breaker, delivery.outcome, deps.now(), delivered.forced);
  }
  const priced = attempts.filter((a) => a.costUsd !== null);
  const hedge = end.hedge;
  const resilience: CallResilience = {
    servedBy: delivered?.spec.target.label ?? null,
    attempts,
    skipped: end.skipped,
    ...(policy.strategy !== 'ordered' ? { strategy: policy.strategy, explored: end.explored } : {}),
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
    ...(a.hedge ? { hedge: true as const } : {}),
    ...(a.firstToken && a.firstToken.ms !== null && a.firstToken.source !== 'none' ? { firstTokenTimeout: { ms: a.firstToken.ms, source: a.firstToken.source } } : {}),
  };
}

/** The part of a call's cost that rests on estimated tokens (its attempts' without the provider's usage). */
function estimatedCost(record: CallRecord): number {
  return (record.resilience?.attempts ?? []).reduce((s, a) => s + (a.usageSource === 'estimated' ? (a.costUsd ?? 0) : 0), 0);
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
