import { ChunkGapRecorder } from '../../core/chunk-gaps';
import type { Usage } from '../../core/usage';

/** Keeps at most `max` characters of text; remembers whether anything was cut. */
export class BoundedText {
  private parts: string[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  append(s: string): void {
    if (s === '') return;
    const room = this.max - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const piece = s.length > room ? s.slice(0, room) : s;
    if (piece.length < s.length) this.truncated = true;
    this.parts.push(piece);
    this.size += piece.length;
  }
  get length(): number {
    return this.size;
  }
  toString(): string {
    return this.parts.join('');
  }
}

/** What the gateway learns from a response as it passes: filled by the format parsers. */
export class ResponseFacts {
  responseModel: string | null = null;
  responseId: string | null = null;
  finishReasons: string[] = [];
  usage: Usage | null = null;
  /** Clock time of the chunk that carried the first content token (streams only). */
  firstTokenAt: number | null = null;
  /** Clock time the first chunk (server-sent event with data) was received (streams only). */
  firstChunkAt: number | null = null;
  /** The gaps between chunks, only when they are wanted (GenAI metrics exported): one null check per chunk else. */
  readonly gaps: ChunkGapRecorder | null;
  /** OpenAI-format `service_tier` and `system_fingerprint` of the response (cut to 128 characters). */
  serviceTier: string | null = null;
  systemFingerprint: string | null = null;
  /** Error type of an error event inside an otherwise successful stream (e.g. Anthropic `overloaded_error`). */
  streamErrorType: string | null = null;
  /** Events or bodies that could not be parsed. */
  malformed = 0;
  /** Text the model produced, kept (bounded) for token estimation when the provider sends no usage. */
  readonly outputText: BoundedText;
  constructor(options: { maxText?: number; chunkGaps?: boolean } = {}) {
    this.outputText = new BoundedText(options.maxText ?? 256 * 1024);
    this.gaps = options.chunkGaps ? new ChunkGapRecorder() : null;
  }
  markToken(at: number): void {
    if (this.firstTokenAt === null) this.firstTokenAt = at;
  }
  /** A chunk of a stream was received whole at `at`. */
  markChunk(at: number): void {
    if (this.firstChunkAt === null) this.firstChunkAt = at;
    this.gaps?.chunk(at);
  }
  addFinishReason(reason: unknown): void {
    if (typeof reason === 'string' && reason !== '') this.finishReasons.push(reason);
  }
}

/** Verdict of a stream parser on one event: hand it on, drop it, or hand on different bytes. */
export type EventVerdict = { action: 'keep' } | { action: 'drop' } | { action: 'replace'; text: string };
export const KEEP: EventVerdict = { action: 'keep' };
