import { afterEach, describe, expect, it, vi } from 'vitest';
import { gateway, GW, jsonPost } from './helpers';

describe('captured content is masked wherever it goes', () => {
  afterEach(() => vi.restoreAllMocks());

  it('RECORDER=log writes no key-shaped string from a prompt', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    const gw = gateway({ RECORDER: 'log', OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' }, { recorder: 'env' });
    const secret = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';
    const prompt = `my key is ${secret} and the header was Bearer sk-live-ZYXWVUTSRQ987654321`;
    const res = await gw.fetch(
      `${GW}/openai/v1/chat/completions`,
      jsonPost({ model: 'gpt-4o', messages: [{ role: 'system', content: [{ type: 'text', text: prompt }] }, { role: 'user', content: prompt }] }),
    );
    await res.arrayBuffer();
    await gw.settle();
    const logged = lines.filter((l) => l.includes('"llm_call"'));
    expect(logged).toHaveLength(1);
    const line = logged[0] ?? '';
    expect(line).toContain('[REDACTED]');
    expect(line).not.toContain('sk-proj-');
    expect(line).not.toContain('sk-live-');
    expect(line).not.toContain('ZYXWVUTSRQ');
    const record = JSON.parse(line) as { content: { request: { messages: { content: unknown }[] } } };
    expect(record.content.request.messages[1]?.content).toBe('my key is [REDACTED] and the header was [REDACTED]');
  });
});
