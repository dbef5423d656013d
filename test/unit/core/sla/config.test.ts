import { describe, expect, it } from 'vitest';
import {
  alertAfter,
  DEFAULT_SLA_CONFIG,
  matchRoute,
  parseSlaConfig,
  parseWindow,
  targetsFor,
  type SlaConfig,
} from '../../../../src/core/sla/config';

function parsed(json: unknown): SlaConfig {
  const r = parseSlaConfig(JSON.stringify(json));
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.config;
}

function problems(json: string): string[] {
  const r = parseSlaConfig(json);
  if (r.ok) throw new Error('expected problems');
  return r.problems;
}

describe('parseWindow', () => {
  it.each([
    ['1m', 60_000],
    ['5m', 300_000],
    ['90m', 5_400_000],
    ['120s', 120_000],
    ['1h', 3_600_000],
    ['24h', 86_400_000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseWindow(text)).toBe(ms);
  });

  it.each([
    ['30s', /between 1m and 24h/],
    ['25h', /between 1m and 24h/],
    ['0m', /between 1m and 24h/],
    ['90s', /whole number of minutes/],
    ['5', /must look like/],
    ['5d', /must look like/],
    ['-5m', /must look like/],
    ['', /must look like/],
  ])('%s is refused', (text, message) => {
    expect(() => parseWindow(text)).toThrow(message);
  });
});

describe('parseSlaConfig', () => {
  it('treats a missing or blank var as the default config', () => {
    expect(parseSlaConfig(undefined)).toEqual({ ok: true, config: DEFAULT_SLA_CONFIG });
    expect(parseSlaConfig('  ')).toEqual({ ok: true, config: DEFAULT_SLA_CONFIG });
  });

  it('accepts a full config', () => {
    const config = parsed({
      default: { max_p95_ms: 2000, min_success_rate: 0.99, window: '5m' },
      routes: {
        'openai/*': { max_p95_ms: 1500, max_ttft_p95_ms: 500 },
        'rag.embedding': { max_p99_ms: 300, min_throughput_rps: 1, min_samples: 50, window: '1h', count_client_errors: true },
      },
      count_client_errors: false,
      alert_after: 3,
    });
    expect(config.routes?.['openai/*']).toEqual({ max_p95_ms: 1500, max_ttft_p95_ms: 500 });
    expect(alertAfter(config)).toBe(3);
    expect(alertAfter(DEFAULT_SLA_CONFIG)).toBe(2);
  });

  it('reports invalid JSON', () => {
    expect(problems('{"default": ')).toEqual([expect.stringMatching(/^SLA_CONFIG is not valid JSON: /)]);
  });

  it('lists every problem with its path, unknown keys included', () => {
    const list = problems(
      JSON.stringify({
        default: { max_p95_ms: -1, min_success_rate: 1.5, window: '2d', p95: 100 },
        routes: { 'openai/*': { min_samples: 0, max_p99_ms: '300' }, 'bad key!': {} },
        alert_after: 0,
        extra: true,
      }),
    );
    expect(list).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^default\.max_p95_ms: /),
        expect.stringMatching(/^default\.min_success_rate: /),
        expect.stringMatching(/^default\.window: window must look like/),
        'default.p95: unknown key',
        expect.stringMatching(/^routes\["openai\/\*"\]\.min_samples: /),
        expect.stringMatching(/^routes\["openai\/\*"\]\.max_p99_ms: /),
        expect.stringMatching(/^routes\["bad key!"\]: route patterns are/),
        expect.stringMatching(/^alert_after: /),
        'extra: unknown key',
      ]),
    );
    expect(list).toHaveLength(9);
  });

  it('refuses a config that is not an object', () => {
    expect(problems('[1]')).toEqual([expect.stringMatching(/^\(value\): /)]);
  });
});

describe('targetsFor', () => {
  const config = parsed({
    default: { max_p95_ms: 2000, min_success_rate: 0.99, min_samples: 20 },
    routes: {
      '*': { max_p50_ms: 900 },
      'openai/*': { max_p95_ms: 1500 },
      'openai/chat*': { max_p95_ms: 1200 },
      'openai/chat': { max_p95_ms: 1000, window: '15m' },
      'rag.*': { min_success_rate: 0.95, count_client_errors: true },
      '*.embedding': { min_success_rate: 0.9 },
    },
    count_client_errors: false,
  });

  it('prefers the exact key, then the longest glob', () => {
    expect(matchRoute(config, 'openai/chat')).toBe('openai/chat');
    expect(matchRoute(config, 'openai/chat-mini')).toBe('openai/chat*');
    expect(matchRoute(config, 'openai/embeddings')).toBe('openai/*');
    expect(matchRoute(config, 'rag.embedding')).toBe('*.embedding'); // 11 chars beat 5
    expect(matchRoute(config, 'anthropic/messages')).toBe('*');
    expect(matchRoute(parsed({ routes: { 'a/*': {} } }), 'b/x')).toBeNull();
  });

  it('treats glob characters other than * literally', () => {
    const c = parsed({ routes: { 'rag.*': {} } });
    expect(matchRoute(c, 'rag.search')).toBe('rag.*');
    expect(matchRoute(c, 'ragXsearch')).toBeNull();
  });

  it('merges the match over default and fills in the defaults', () => {
    expect(targetsFor(config, 'openai/chat')).toEqual({
      max_p95_ms: 1000,
      min_success_rate: 0.99,
      min_samples: 20,
      window: '15m',
      window_ms: 900_000,
      count_client_errors: false,
      matched: 'openai/chat',
      builtin: [],
    });
    expect(targetsFor(config, 'rag.search')).toMatchObject({ min_success_rate: 0.95, max_p95_ms: 2000, count_client_errors: true });
    // The overall view and unmatched routes take default alone; built-in defaults fill the rest.
    expect(targetsFor(parsed({}), null)).toEqual({
      min_success_rate: 0.95,
      min_samples: 10,
      window: '5m',
      window_ms: 300_000,
      count_client_errors: false,
      matched: null,
      builtin: ['min_success_rate'],
    });
  });

  it('does not let an undefined key in a config built in code hide the default', () => {
    const built: SlaConfig = { default: { max_p99_ms: 700 }, routes: { x: { max_p99_ms: undefined } } };
    expect(targetsFor(built, 'x').max_p99_ms).toBe(700);
  });
});
