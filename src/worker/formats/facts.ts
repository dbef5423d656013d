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
  /** Error type of an error event inside an otherwise successful stream (e.g. Anthropic `overloaded_error`). */
  streamErrorType: string | null = null;
  /** Events or bodies that could not be parsed. */
  malformed = 0;
  /** Text the model produced, kept (bounded) for token estimation when the provider sends no usage. */
  readonly outputText: BoundedText;
  constructor(maxText = 256 * 1024) {
    this.outputText = new BoundedText(maxText);
  }
  markToken(at: number): void {
    if (this.firstTokenAt === null) this.firstTokenAt = at;
  }
  addFinishReason(reason: unknown): void {
    if (typeof reason === 'string' && reason !== '') this.finishReasons.push(reason);
  }
}

/** Verdict of a stream parser on one event: hand it on, drop it, or hand on different bytes. */
export type EventVerdict = { action: 'keep' } | { action: 'drop' } | { action: 'replace'; text: string };
export const KEEP: EventVerdict = { action: 'keep' };
