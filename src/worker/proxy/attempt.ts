import type { ResolvedConfig } from '../../config/resolve';
import type { Provider } from '../../core/providers/types';
import type { Deadline } from '../../core/resilience/deadline';
import type { PlanTarget } from '../../core/resilience/plan';
import { retryAfterMs, type AttemptFailure } from '../../core/resilience/retry';
import { ResponseFacts } from '../formats/facts';
import { BodyCapture } from '../stream/capture';
import { observeBody, type ObservedBody } from '../stream/observe';
import type { CallEnd } from './finish';
import type { RequestBody } from './request';
import { bodyKind, contentLengthOf, SMALL_JSON_BYTES } from './response';
import { clientResponse } from './upstream';

/** One try of a call at one target, as the attempt loop (resilient.ts) starts it. */
export interface AttemptSpec {
  /** 0 for the call's first attempt, then 1, 2... */
  readonly index: number;
  /** Its target's place in the call's plan (`AttemptPlan`). */
  readonly slot: number;
  readonly target: PlanTarget;
  readonly provider: Provider;
  readonly url: URL;
  readonly method: string;
  readonly headers: Headers;
  /** The request as this target gets it (its `model` written in when the target names one). */
  readonly body: RequestBody;
  readonly payload: BodyInit | null;
  /** The gateway asked for stream usage the client did not: hidden from the client again. */
  readonly injected: boolean;
  /** Hold an event stream until its first content event (nothing reaches the client until then). */
  readonly hold: boolean;
  /** When a held stream without a first content event is given up (clock time), null: never. */
  readonly firstTokenBy: number | null;
  /** When the whole call must have its answer (`timeout_ms`, clock time): a hold ends there too. */
  readonly deadlineAt: number | null;
  /** Longest wait for the response headers, ms. */
  readonly waitMs: number;
  /**
   * Error statuses read whole and kept (another attempt may replace them); null: none. Any other error answer is
   * the client's, passed through as it comes.
   */
  readonly keepStatuses: ReadonlySet<number> | null;
}

/** How an attempt stands once it is decided: the client's answer, a failure to move on from, or given up. */
export type AttemptResult =
  | { readonly kind: 'answer' }
  | {
      readonly kind: 'failed';
      readonly failure: AttemptFailure;
      readonly retryAfterMs: number | null;
      /** Whether it got an answer the client could be given (a 503 with its body, a stream that sent an error). */
      readonly answered: boolean;
    }
  | { readonly kind: 'cancelled' };

/** Why the gateway gave an attempt up before it was over. */
export type GiveUp = 'first_token_timeout' | 'lost' | 'client' | 'deadline';

const ANSWER: AttemptResult = { kind: 'answer' };
const failed = (failure: AttemptFailure, retryAfter: number | null, answered: boolean): AttemptResult => ({ kind: 'failed', failure, retryAfterMs: retryAfter, answered });

/**
 * One upstream request of a call handled by a policy. Nothing reaches the client until the loop picks this attempt
 * (`deliver`): an error answer and a small JSON body are read whole first; an event stream is handed on as it comes
 * — or, when `hold` is set, read ahead until its first content event so that a stall or an error event before it
 * can still be replaced. `result` settles when the attempt is decided; `ended` when its body is over.
 */
export class Attempt {
  readonly startedAt: number;
  readonly facts: ResponseFacts;
  status = 0;
  headersAt: number | null = null;
  timedOut = false;
  clientAborted = false;
  /** Why the call moved on after this attempt, set by the loop; null for the answer. */
  reason: string | null = null;
  /** The breaker was open and the call went anyway (every target was open). */
  forced = false;
  /** The second attempt of a hedge (src/worker/proxy/resilient.ts). */
  hedge = false;
  /** Its first-token deadline and where it came from (derived from the target's tail, or fixed), set by the loop. */
  firstToken: Deadline | null = null;
  givenUp: GiveUp | null = null;
  readonly result: Promise<AttemptResult>;
  private readonly aborter = new AbortController();
  private upstream: Response | null = null;
  private observed: ObservedBody | null = null;
  private strip = false;
  private end: CallEnd | null = null;
  private stopHold: (() => void) | null = null;

  constructor(
    readonly spec: AttemptSpec,
    private readonly config: ResolvedConfig,
    private readonly now: () => number,
  ) {
    this.startedAt = now();
    // Chunk gaps are kept only for the GenAI metrics' time_per_output_chunk, as on the plain path.
    this.facts = new ResponseFacts({ chunkGaps: config.telemetry?.metricsUrl != null });
    this.result = this.run().catch((err: unknown) => {
      console.error('llm-sla-gateway: attempt failed unexpectedly', err instanceof Error ? err.message : String(err));
      this.end ??= { at: this.now(), kind: null, firstByteAt: null, capture: null };
      return failed({ kind: 'network_error' }, null, false);
    });
  }

  /** The answer is an event stream. */
  get sse(): boolean {
    return this.observedKind === 'sse';
  }
  private observedKind: string | null = null;

  private async run(): Promise<AttemptResult> {
    const spec = this.spec;
    const timer = setTimeout(() => this.timeout(), spec.waitMs);
    let res: Response;
    try {
      res = await fetch(spec.url, { method: spec.method, headers: spec.headers, body: spec.payload, signal: this.aborter.signal, redirect: 'manual' });
    } catch {
      clearTimeout(timer);
      this.end = { at: this.now(), kind: this.givenUp === 'lost' ? 'cancelled' : null, firstByteAt: null, capture: null };
      if (this.givenUp !== null && this.givenUp !== 'deadline') return { kind: 'cancelled' };
      return failed(this.timedOut ? { kind: 'timeout' } : { kind: 'network_error' }, null, false);
    }
    this.upstream = res;
    this.status = res.status;
    this.headersAt = this.now();
    const kind = bodyKind(res.headers.get('content-type'));
    this.observedKind = kind;
    const length = contentLengthOf(res.headers);
    // An error answer another attempt may replace is read whole (the client gets it if none does), and so is a
    // small JSON body, as on the plain path: until its last byte is in, a failure can still be replaced. Any other
    // answer (the last attempt's error, a status retry_on does not list) is the client's, passed on as it comes.
    const keep = res.status >= 400 && spec.keepStatuses !== null && spec.keepStatuses.has(res.status);
    if (keep || (kind === 'json' && length !== null && length <= SMALL_JSON_BYTES && res.body !== null)) {
      const retryAfter = keep ? retryAfterMs((n) => res.headers.get(n), this.now()) : null;
      const whole = await this.readWhole(res);
      clearTimeout(timer);
      if (this.givenUp !== null && this.givenUp !== 'deadline') return { kind: 'cancelled' };
      if (!whole) return failed(this.timedOut ? { kind: 'timeout' } : { kind: 'network_error' }, null, false);
      return keep ? failed({ kind: 'status', status: res.status }, retryAfter, true) : ANSWER;
    }
    clearTimeout(timer);
    if (res.body === null) {
      this.end = { at: this.headersAt, kind: 'complete', firstByteAt: null, capture: null };
      return ANSWER;
    }
    this.strip = spec.injected && kind === 'sse';
    this.observed = observeBody(res.body, this.facts, {
      kind,
      format: spec.provider.format,
      stripInjectedUsage: this.strip,
      idleTimeoutMs: this.config.upstreamTimeoutMs,
      onIdle: () => this.timeout(),
      now: this.now,
      contentLength: length,
      holdable: true,
    });
    if (!spec.hold || kind !== 'sse') return ANSWER;
    return this.hold(this.observed);
  }

  /** Reads ahead until the first content event, an error event, the end, a failure, or the deadline. */
  private async hold(observed: ObservedBody): Promise<AttemptResult> {
    const stop = new Promise<void>((resolve) => (this.stopHold = resolve));
    const { firstTokenBy: by, deadlineAt } = this.spec;
    const end = Math.min(by ?? Number.POSITIVE_INFINITY, deadlineAt ?? Number.POSITIVE_INFINITY);
    const deadline =
      end === Number.POSITIVE_INFINITY
        ? null
        : setTimeout(() => {
            this.givenUp ??= end === by ? 'first_token_timeout' : 'deadline';
            this.stopHold?.();
          }, Math.max(0, end - this.now()));
    const primed = await observed.prime(stop);
    if (deadline !== null) clearTimeout(deadline);
    switch (primed) {
      case 'token':
      case 'end':
        return this.givenUp === null ? ANSWER : { kind: 'cancelled' };
      case 'error_event':
        return failed({ kind: 'stream_error', rateLimited: /rate_limit/.test(this.facts.streamErrorType ?? '') }, null, true);
      case 'failed':
        if (this.givenUp !== null && this.givenUp !== 'deadline') return { kind: 'cancelled' };
        return failed(this.timedOut ? { kind: 'timeout' } : { kind: 'network_error' }, null, false);
      case 'stopped':
        if (this.givenUp === 'first_token_timeout' || this.givenUp === 'deadline') {
          // Given up: the upstream request is cancelled, and the call moves on without waiting for it to close.
          this.timedOut = true;
          this.aborter.abort(new Error('no first token in time'));
          void observed.abandon('no first token in time');
          return failed(this.givenUp === 'deadline' ? { kind: 'timeout' } : { kind: 'first_token_timeout' }, null, false);
        }
        return { kind: 'cancelled' };
    }
  }

  private async readWhole(res: Response): Promise<boolean> {
    try {
      const bytes = new Uint8Array(await res.arrayBuffer());
      const at = this.now();
      this.end = { at, kind: 'complete', firstByteAt: at, capture: BodyCapture.of(bytes) };
      this.whole = bytes;
      return true;
    } catch {
      this.end = { at: this.now(), kind: this.givenUp === 'lost' || this.givenUp === 'client' ? 'cancelled' : 'error', firstByteAt: null, capture: null };
      return false;
    }
  }
  private whole: Uint8Array | null = null;

  private timeout(): void {
    this.timedOut = true;
    this.aborter.abort(new Error('upstream timeout'));
  }

  /**
   * Gives the attempt up: its upstream request is cancelled (the fetch aborted, a body being read cancelled).
   * `lost`: another attempt answered; `client`: the client left.
   */
  cancel(why: 'lost' | 'client'): void {
    this.givenUp ??= why;
    if (why === 'client') this.clientAborted = true;
    this.stopHold?.();
    this.aborter.abort(new Error(`attempt given up: ${why}`));
    void this.observed?.abandon(why);
  }

  /**
   * Lets go of an attempt that failed with an answer (a stream whose error event came before its first token) and
   * is not the client's: what it said is known, the rest of its body is not read.
   */
  discard(): void {
    if (this.observed === null || this.whole !== null || this.givenUp !== null) return;
    this.discarded = true;
    void this.observed.abandon('not the answer');
  }
  private discarded = false;

  /** The client's response from this attempt: the upstream's status, headers and body, as the plain path gives them. */
  deliver(): Response {
    const res = this.upstream;
    if (res === null) throw new Error('an attempt without a response cannot be delivered');
    if (this.whole !== null) return clientResponse(this.whole, res, false);
    if (this.observed !== null) return clientResponse(this.observed.body, res, this.strip);
    return clientResponse(null, res, false);
  }

  /** How the attempt's body ended: for the answer, once the client has it all; for the others, when given up. */
  async ended(): Promise<CallEnd> {
    await this.result;
    if (this.end !== null) return this.end;
    if (this.observed !== null) {
      const e = await this.observed.ended;
      // A stream given up for its first-token deadline (or the call's) did not complete: an error, not a cancel.
      const kind = this.givenUp === 'first_token_timeout' || this.givenUp === 'deadline' ? 'error' : this.discarded ? 'complete' : e.kind;
      return { at: e.at, kind, firstByteAt: e.firstByteAt, capture: e.capture };
    }
    return { at: this.now(), kind: null, firstByteAt: null, capture: null };
  }
}
