import type { CallRecord } from '../../core/record';
import { isolateCounts } from '../counts';

/** Receives every completed call. Called inside `ctx.waitUntil`; a failure is caught and counted, never thrown. */
export interface Recorder {
  record(record: CallRecord): void | Promise<void>;
}

/**
 * One JSON line per call on the worker's log (`wrangler tail`, Workers Logs). Holds no key; message content only
 * with content capture on, masked where the record was built (`src/worker/mask.ts`).
 */
export class LogRecorder implements Recorder {
  record(record: CallRecord): void {
    console.log(JSON.stringify({ msg: 'llm_call', ...record }));
  }
}

/** Keeps the last `capacity` records of this isolate in memory (tests, local inspection). */
export class MemoryRecorder implements Recorder {
  private readonly items: CallRecord[] = [];
  dropped = 0;
  constructor(private readonly capacity = 10_000) {}
  record(record: CallRecord): void {
    if (this.items.length >= this.capacity) {
      this.items.shift();
      this.dropped++;
    }
    this.items.push(record);
  }
  get records(): readonly CallRecord[] {
    return this.items;
  }
  clear(): void {
    this.items.length = 0;
  }
}

/** Hands each record to several recorders; one failing does not keep it from the others. */
export class TeeRecorder implements Recorder {
  constructor(private readonly recorders: readonly Recorder[]) {}
  record(record: CallRecord): Promise<void> | void {
    // Most recorders finish at once (they batch): only those still working are waited for.
    let pending: Promise<void>[] | null = null;
    for (const r of this.recorders) {
      const p = safeRecord(r, record);
      if (p) (pending ??= []).push(p);
    }
    if (!pending) return;
    return pending.length === 1 ? pending[0] : Promise.all(pending).then(noop);
  }
}

export class NoopRecorder implements Recorder {
  record(): void {}
}

function noop(): void {}

function failed(err: unknown): void {
  isolateCounts.add('gateway_recorder_failures');
  console.error('llm-sla-gateway: recorder failed', err instanceof Error ? err.message : String(err));
}

/**
 * Hands a record to a recorder without letting anything it does reach the caller: a promise only when the recorder
 * is still working (it then never rejects), else nothing.
 */
export function safeRecord(recorder: Recorder, record: CallRecord): Promise<void> | void {
  try {
    const p = recorder.record(record);
    if (p) return p.catch(failed);
  } catch (err) {
    failed(err);
  }
}
