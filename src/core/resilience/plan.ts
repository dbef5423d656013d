import { targetLabel, type ResolvedPolicy, type TargetSpec } from './policy';
import { backoffMs, retryable, type AttemptFailure } from './retry';

/** A target as one call tries it. */
export interface PlanTarget extends TargetSpec {
  readonly label: string;
  /** The provider the path names: the client's own headers (its key) go there, and nowhere else. */
  readonly own: boolean;
}

/** A target left out of a call, and why. */
export interface SkippedTarget {
  readonly target: string;
  readonly reason: 'breaker_open' | 'no_key' | 'format' | 'unknown_provider';
}

/** What the plan needs to know of a configured provider. */
export interface ProviderFacts {
  readonly format: string;
  /** A `<NAME>_API_KEY` the gateway holds for it. */
  readonly managedKey: boolean;
}

/**
 * The targets of one call, in order: the policy's list, with the provider the path names first unless listed.
 * A target of another wire format than the path's, or on another provider without a managed key (the client's key
 * is only ever sent to the provider its path names), is left out and said so. Config validation refuses what it
 * can see in advance (`src/config/policies.ts`); what depends on the path is decided here.
 */
export function planTargets(
  policy: Pick<ResolvedPolicy, 'targets'>,
  path: { provider: string; format: string },
  providers: (name: string) => ProviderFacts | undefined,
): { targets: PlanTarget[]; skipped: SkippedTarget[] } {
  const listed = policy.targets.some((t) => t.provider === path.provider) ? policy.targets : [{ provider: path.provider, model: null }, ...policy.targets];
  const targets: PlanTarget[] = [];
  const skipped: SkippedTarget[] = [];
  for (const t of listed) {
    const label = targetLabel(t);
    const facts = providers(t.provider);
    const own = t.provider === path.provider;
    if (!facts) skipped.push({ target: label, reason: 'unknown_provider' });
    else if (facts.format !== path.format) skipped.push({ target: label, reason: 'format' });
    else if (!own && !facts.managedKey) skipped.push({ target: label, reason: 'no_key' });
    else targets.push({ ...t, label, own });
  }
  return { targets, skipped };
}

/** What the call does next after an attempt that was not its answer. */
export type Step =
  | { readonly kind: 'retry'; readonly target: number; readonly delayMs: number }
  | { readonly kind: 'next'; readonly target: number; readonly forced: boolean }
  | { readonly kind: 'stop'; readonly why: 'not_retryable' | 'exhausted' };

export interface StepContext {
  readonly now: number;
  /** When the whole call must have its answer (`timeout_ms`), or null. */
  readonly deadlineAt: number | null;
  /** Asked only of the target about to be chosen (a half-open breaker lets one probe through when asked). */
  readonly allow: (target: number) => boolean;
  readonly random: () => number;
  /** Skipped targets are reported here as they are passed over. */
  readonly skip: (target: number) => void;
}

/**
 * The attempt loop's decisions, pure: which target goes first, and after each failed attempt whether to retry it
 * (after a backoff, or what `retry-after` asks up to `retryAfterMaxMs`), move to the next target, or stop.
 * - A failure `retry_on` does not list is the client's answer: stop.
 * - A first-token deadline moves to the next target at once (a stalled provider is not asked again while another
 *   remains); on the last target it is retried like any failure.
 * - Retries of one target come before the next target; a wait that would pass the call's deadline, or a
 *   `retry-after` beyond the cap, is not waited: the call moves on.
 * - Targets whose breaker is open are skipped; when every target left is open, the last one is still tried.
 */
export class AttemptPlan {
  private readonly retriesUsed: number[];
  private current = -1;

  constructor(
    readonly targets: readonly PlanTarget[],
    private readonly policy: Pick<ResolvedPolicy, 'retries' | 'retryOn' | 'backoffMs' | 'backoffMaxMs' | 'retryAfterMaxMs'>,
  ) {
    this.retriesUsed = targets.map(() => 0);
  }

  /** The first target to try (null: the plan is empty). */
  first(ctx: StepContext): Step | null {
    const step = this.moveOn(0, ctx);
    return step.kind === 'next' ? step : null;
  }

  /** After attempt on `target` ended with `failure` (and asked to wait `retryAfter` ms, if it said). */
  after(target: number, failure: AttemptFailure, retryAfter: number | null, ctx: StepContext): Step {
    if (!retryable(failure, this.policy.retryOn)) return { kind: 'stop', why: 'not_retryable' };
    const hasNext = target + 1 < this.targets.length;
    const retryHere = this.retriesUsed[target] !== undefined && (this.retriesUsed[target] as number) < this.policy.retries;
    if (retryHere && !(failure.kind === 'first_token_timeout' && hasNext)) {
      const n = (this.retriesUsed[target] as number) + 1;
      const wait = retryAfter ?? backoffMs(n, this.policy.backoffMs, this.policy.backoffMaxMs, ctx.random);
      const inTime = ctx.deadlineAt === null || ctx.now + wait < ctx.deadlineAt;
      if ((retryAfter === null || retryAfter <= this.policy.retryAfterMaxMs) && inTime) {
        this.retriesUsed[target] = n;
        this.current = target;
        return { kind: 'retry', target, delayMs: wait };
      }
    }
    return this.moveOn(target + 1, ctx);
  }

  private moveOn(from: number, ctx: StepContext): Step {
    const last = this.targets.length - 1;
    if (from > last) return { kind: 'stop', why: 'exhausted' };
    for (let i = from; i <= last; i++) {
      if (ctx.allow(i)) {
        this.current = i;
        return { kind: 'next', target: i, forced: false };
      }
      if (i < last) ctx.skip(i);
    }
    // Every target left is open: the last one is still tried (it decides like a probe).
    this.current = last;
    return { kind: 'next', target: last, forced: true };
  }

  /** Whether another attempt could follow one at `target` (a later target, or a retry of it). */
  more(target: number): boolean {
    return target < this.targets.length - 1 || (this.retriesUsed[target] ?? Number.POSITIVE_INFINITY) < this.policy.retries;
  }

  /** The target of the latest step. */
  get position(): number {
    return this.current;
  }
}
