import type { ProviderFormat } from '../../core/providers/types';
import type { EventVerdict, ResponseFacts } from '../formats/facts';
import { onAnthropicEvent } from '../formats/anthropic';
import { onOpenAIEvent } from '../formats/openai';
import { parseSseEvent, SseSplitter, type SseEvent, type SsePart } from './sse';
import { BodyCapture } from './capture';

export type BodyKind = 'sse' | 'json' | 'opaque';

export interface ObserveOptions {
  readonly kind: BodyKind;
  readonly format: ProviderFormat;
  /** Drop the usage chunk the gateway asked for and strip `"usage":null` (OpenAI streams only). */
  readonly stripInjectedUsage: boolean;
  /** Longest wait for the next upstream chunk; `onIdle` is called when it passes. */
  readonly idleTimeoutMs: number;
  readonly onIdle: () => void;
  readonly now: () => number;
  /** The body's declared length, when the upstream gave one. */
  readonly contentLength: number | null;
}

/** `observeBody` for an attempt of a call under a policy: the body can be read ahead (`prime`) or given up (`abandon`). */
export interface HoldableOptions extends ObserveOptions {
  readonly holdable: true;
}

/** How the body ended: read to its end, failed (upstream reset, timeout), or cancelled by the client. */
export interface BodyEnd {
  readonly kind: 'complete' | 'error' | 'cancelled';
  readonly at: number;
  readonly firstByteAt: number | null;
  readonly bytes: number;
  /** JSON bodies: the bytes kept for parsing after the call (bounded). */
  readonly capture: BodyCapture | null;
}

const encoder = new TextEncoder();

/** How a held stream's read-ahead stopped (`prime`). */
export type PrimeResult = 'token' | 'error_event' | 'end' | 'failed' | 'stopped';

/** A body handed on as it comes (the plain path). */
export interface PassedBody {
  readonly body: ReadableStream<Uint8Array>;
  readonly ended: Promise<BodyEnd>;
}

/** A body an attempt holds until the attempt loop picks it (src/worker/proxy/attempt.ts). */
export interface ObservedBody extends PassedBody {
  /**
   * Streams only: reads ahead, holding what it read, until the first content event (`token`), an error event
   * before it (`error_event`), the end (`end`), a failed read (`failed`) or `stop` (`stopped`). Nothing reaches the
   * client meanwhile; its first pull then gets everything held at once. The attempt loop's first-token deadline and
   * hedging stand on this (src/worker/proxy/attempt.ts); without it, streams are never held.
   */
  prime(stop: Promise<void>): Promise<PrimeResult>;
  /** Gives the body up before the client has it: the upstream read is cancelled, `ended` settles as cancelled. */
  abandon(reason: unknown): Promise<void>;
}

/**
 * Hands an upstream body to the client chunk by chunk, as each arrives, while learning from it. A chunk is
 * enqueued before it is parsed, so parsing never delays it; only when injected usage must be hidden are whole
 * events forwarded (an event is held until its blank line, never longer). The source is pulled, one chunk ahead of
 * the client: the first chunk is read, parsed and waiting when the runtime first asks for the body, and upstream is
 * read no faster than the client takes, one chunk ahead. (Measured against pulling on demand with the order of the
 * targets rotating, the TTFB difference is within the machine's noise: keep or drop it on a quieter machine.)
 * `ended` settles when the last byte has been read.
 *
 * With `holdable` (an attempt of a call under a policy), the body is made when first asked for, and can be read
 * ahead (`prime`) or given up (`abandon`) before: none of that exists on the plain path, which allocates nothing for it.
 */
export function observeBody(upstream: ReadableStream<Uint8Array>, facts: ResponseFacts, opts: HoldableOptions): ObservedBody;
export function observeBody(upstream: ReadableStream<Uint8Array>, facts: ResponseFacts, opts: ObserveOptions): PassedBody;
export function observeBody(upstream: ReadableStream<Uint8Array>, facts: ResponseFacts, opts: ObserveOptions & { holdable?: boolean }): PassedBody | ObservedBody {
  const strip = opts.stripInjectedUsage && opts.kind === 'sse';
  // JSON and other bodies: the client gets one branch of a native tee, untouched by JavaScript, and the gateway
  // reads the other as it arrives (a client that leaves is seen through request.signal). Streams go through the
  // JavaScript stream below: it times each chunk as handed on, can hide an injected usage chunk, and passes a
  // client's cancel straight to the upstream.
  let client: ReadableStream<Uint8Array> | null = null;
  if (opts.kind !== 'sse') [client, upstream] = upstream.tee();
  let locked: ReadableStreamDefaultReader<Uint8Array> | null = null;
  const reader = () => (locked ??= upstream.getReader());
  const splitter = opts.kind === 'sse' ? new SseSplitter() : null;
  const capture = opts.kind === 'json' ? new BodyCapture() : null;
  const onEvent: (ev: SseEvent, at: number, facts: ResponseFacts, strip: boolean) => EventVerdict =
    opts.format === 'anthropic' ? onAnthropicEvent : onOpenAIEvent;
  let firstByteAt: number | null = null;
  let bytes = 0;
  let settle!: (end: BodyEnd) => void;
  const ended = new Promise<BodyEnd>((resolve) => (settle = resolve));
  let done = false;
  const watch = new IdleWatch(opts.idleTimeoutMs, opts.now, opts.onIdle);
  const finish = (kind: BodyEnd['kind']) => {
    if (done) return;
    done = true;
    watch.stop();
    settle({ kind, at: opts.now(), firstByteAt, bytes, capture });
  };
  /** One upstream read, watched for idleness. */
  const read = async (): Promise<ReadableStreamReadResult<Uint8Array>> => {
    watch.reading();
    try {
      return await reader().read();
    } finally {
      watch.idle();
    }
  };

  /** Parses whole events; returns the bytes to forward when stripping, else null (the chunk was forwarded). */
  const handle = (parts: SsePart[], at: number): Uint8Array[] | null => {
    const out: Uint8Array[] | null = strip ? [] : null;
    for (const part of parts) {
      if (!part.whole) {
        out?.push(part.bytes);
        continue;
      }
      const ev = parseSseEvent(part.bytes);
      const verdict = onEvent(ev, at, facts, strip);
      // A chunk as the providers' SDKs hand them on: an event with data, not the end marker nor Anthropic's ping,
      // and not the usage chunk the gateway asked for and hides.
      if (ev.data !== null && verdict.action !== 'drop' && ev.data !== '[DONE]' && ev.type !== 'ping') facts.markChunk(at);
      if (!out) continue;
      if (verdict.action === 'keep') out.push(part.bytes);
      else if (verdict.action === 'replace') out.push(encoder.encode(verdict.text));
    }
    return out;
  };

  if (client !== null) {
    const passthrough = client;
    const known = opts.contentLength;
    // A body of known, modest length is read natively in one go; otherwise chunk by chunk, bounded.
    const whole = capture && known !== null && known <= capture.maxWhole;
    const out = { body: passthrough, ended: whole ? readWhole(capture) : drain() };
    if (!opts.holdable) return out;
    const abandon = async (reason: unknown): Promise<void> => {
      finish('cancelled');
      await Promise.all([passthrough.cancel(reason), reader().cancel(reason)]).catch(() => undefined);
    };
    return { ...out, prime: async (): Promise<PrimeResult> => 'token', abandon };
  }

  async function readWhole(into: BodyCapture): Promise<BodyEnd> {
    const timer = setTimeout(opts.onIdle, opts.idleTimeoutMs);
    try {
      const all = new Uint8Array(await new Response(upstream).arrayBuffer());
      firstByteAt = opts.now();
      bytes = all.byteLength;
      into.add(all);
      finish('complete');
    } catch {
      finish('error');
    } finally {
      clearTimeout(timer);
    }
    return ended;
  }

  /** Reads the gateway's branch to its end, learning from each chunk; an idle upstream is cut after the timeout. */
  async function drain(): Promise<BodyEnd> {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await read();
      } catch {
        finish('error');
        return ended;
      }
      const at = opts.now();
      if (result.done) {
        finish('complete');
        return ended;
      }
      firstByteAt ??= at;
      bytes += result.value.byteLength;
      capture?.add(result.value);
    }
  }

  /** Held streams: what was read ahead and not yet handed on (`prime`), and whether the upstream ended meanwhile. */
  let held: Uint8Array[] | null = null;
  let heldEnd = false;

  const source = {
    async pull(controller: ReadableStreamDefaultController<Uint8Array>) {
      if (held !== null && (held.length > 0 || heldEnd)) {
        firstByteAt ??= opts.now();
        for (const b of held.splice(0)) controller.enqueue(b);
        if (heldEnd) {
          finish('complete');
          controller.close();
        }
        return;
      }
      // Read until something was handed on: a pull that enqueues nothing (a dropped usage chunk, half an event
      // held back) would never be called again.
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await read();
        } catch (err) {
          finish('error');
          controller.error(err);
          return;
        }
        const at = opts.now();
        if (result.done) {
          const rest = splitter?.finish();
          if (rest) for (const b of handle([{ bytes: rest, whole: true }], at) ?? []) controller.enqueue(b);
          finish('complete');
          controller.close();
          return;
        }
        const chunk = result.value;
        firstByteAt ??= at;
        bytes += chunk.byteLength;
        if (!splitter) {
          controller.enqueue(chunk);
          capture?.add(chunk);
          return;
        }
        if (!strip) controller.enqueue(chunk);
        const out = handle(splitter.push(chunk), at);
        if (!out) return;
        for (const b of out) controller.enqueue(b);
        if (out.length > 0) return;
      }
    },
    cancel(reason: unknown) {
      finish('cancelled');
      return reader().cancel(reason).catch(() => undefined);
    },
  };
  if (!opts.holdable) return { body: new ReadableStream<Uint8Array>(source, { highWaterMark: 1 }), ended };

  // Held streams. The body is made when the caller first asks for it: a stream starts pulling at once (one chunk
  // ahead), which must not happen while `prime` reads ahead.
  const ahead: Uint8Array[] = (held = []);
  /** Takes one upstream chunk read ahead: what to hand on later, and its facts learnt now. */
  const take = (chunk: Uint8Array, at: number): void => {
    bytes += chunk.byteLength;
    if (!splitter) {
      ahead.push(chunk);
      capture?.add(chunk);
      return;
    }
    if (!strip) ahead.push(chunk);
    const out = handle(splitter.push(chunk), at);
    if (out) for (const b of out) ahead.push(b);
  };
  const prime = async (stop: Promise<void>): Promise<PrimeResult> => {
    const stopped = stop.then(() => 'stopped' as const);
    for (;;) {
      if (facts.firstTokenAt !== null) return 'token';
      if (facts.streamErrorType !== null) return 'error_event';
      let result: ReadableStreamReadResult<Uint8Array> | 'stopped';
      try {
        const reading = read();
        reading.catch(() => undefined); // an abandoned read fails when the body is cancelled
        result = await Promise.race([reading, stopped]);
      } catch {
        finish('error');
        return 'failed';
      }
      if (result === 'stopped') return 'stopped';
      const at = opts.now();
      if (result.done) {
        const rest = splitter?.finish();
        if (rest) for (const b of handle([{ bytes: rest, whole: true }], at) ?? []) ahead.push(b);
        heldEnd = true;
        return 'end';
      }
      take(result.value, at);
    }
  };
  const abandon = async (reason: unknown): Promise<void> => {
    finish('cancelled');
    await reader().cancel(reason).catch(() => undefined);
  };
  let body: ReadableStream<Uint8Array> | null = null;
  return {
    get body() {
      return (body ??= new ReadableStream<Uint8Array>(source, { highWaterMark: 1 }));
    },
    ended,
    prime,
    abandon,
  };
}

/**
 * Calls `onIdle` when one upstream read has waited `ms`, with one timer per stream rather than one per chunk: the
 * timer, when it fires, re-arms itself for whatever is left of the current read's wait. A client that is slow to
 * take the body is not upstream idleness: no read is pending then, and the wait starts again at the next read.
 */
class IdleWatch {
  private since: number | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly ms: number,
    private readonly now: () => number,
    private readonly onIdle: () => void,
  ) {}

  reading(): void {
    this.since = this.now();
    if (this.timer === null) this.arm(this.ms);
  }

  idle(): void {
    this.since = null;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.since = null;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.since === null) return;
      const waited = this.now() - this.since;
      if (waited >= this.ms) this.onIdle();
      else this.arm(this.ms - waited);
    }, ms);
  }
}
