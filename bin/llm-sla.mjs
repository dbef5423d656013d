#!/usr/bin/env node
// llm-sla: a CI / deploy gate over a gateway's /sla report, and its Prometheus rules. Plain Node (>= 20) ESM, no
// dependencies.
//   llm-sla check --url https://gateway.example.com [--window 5m] [--token T] [--json] [--strict] [--timeout 10s]
//   llm-sla rules --url https://gateway.example.com [--token T] [--timeout 10s] > llm-sla-rules.yml
// Exit codes: 0 every SLA passed (or lacks data) / the rules were printed, 1 an SLA failed (or, with --strict, a
// route lacks data), 2 bad usage or the gateway could not be asked.

const USAGE = `Usage: llm-sla check --url <gateway> [options]
       llm-sla rules --url <gateway> [--token <token>] [--timeout <s>]

check: asks the gateway's GET /sla for every route's SLA verdict and exits non-zero when one failed.
rules: prints the Prometheus rule file for the SLOs in force (GET /sla/rules): recording rules of each SLO's error
       ratio and its multi-window, multi-burn-rate alerts, for promtool and Prometheus' rule_files.

Options:
  --url <url>        The gateway's base URL (or LLM_SLA_URL).
  --window <w>       SLA window, e.g. 5m, 1h, 24h (default: the gateway's, usually 5m).
  --token <token>    Read token (SLA_READ_TOKEN) if the gateway has one (or LLM_SLA_TOKEN).
  --json             Print the /sla report as JSON instead of the table.
  --strict           Also fail when a route has too few calls to judge (insufficient_data).
  --timeout <s>      Seconds to wait for the gateway (default 10).
  --color/--no-color Force colors on or off (default: on for a terminal, off with NO_COLOR).
  -h, --help         This help.

Exit codes: 0 passed, 1 an SLA failed, 2 usage error or gateway unreachable.`;

class UsageError extends Error {}

/** @param {string[]} argv */
export function parseArgs(argv) {
  const opts = {
    command: '',
    url: process.env.LLM_SLA_URL ?? '',
    window: '',
    token: process.env.LLM_SLA_TOKEN ?? '',
    json: false,
    strict: false,
    timeoutS: 10,
    /** @type {boolean | null} */
    color: null,
    help: false,
  };
  const args = [...argv];
  /** @param {string} name */
  const value = (name) => {
    const v = args.shift();
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
    return v;
  };
  while (args.length) {
    let arg = /** @type {string} */ (args.shift());
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    if (eq > 0) {
      args.unshift(arg.slice(eq + 1));
      arg = arg.slice(0, eq);
    }
    switch (arg) {
      case '--url': opts.url = value(arg); break;
      case '--window': opts.window = value(arg); break;
      case '--token': opts.token = value(arg); break;
      case '--timeout': {
        const raw = value(arg);
        const s = Number(raw.replace(/s$/, ''));
        if (!Number.isFinite(s) || s <= 0) throw new UsageError(`--timeout must be a positive number of seconds, got ${JSON.stringify(raw)}`);
        opts.timeoutS = s;
        break;
      }
      case '--json': opts.json = true; break;
      case '--strict': opts.strict = true; break;
      case '--color': opts.color = true; break;
      case '--no-color': opts.color = false; break;
      case '-h': case '--help': opts.help = true; break;
      default:
        if (arg.startsWith('-') || opts.command) throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
        opts.command = arg;
    }
  }
  if (opts.help) return opts;
  if (opts.command !== 'check' && opts.command !== 'rules') throw new UsageError(opts.command ? `unknown command ${JSON.stringify(opts.command)}` : 'missing command: check or rules');
  if (opts.command === 'rules') {
    const onlyCheck = [opts.window && '--window', opts.json && '--json', opts.strict && '--strict'].filter(Boolean);
    if (onlyCheck.length > 0) throw new UsageError(`${onlyCheck.join(', ')}: only for check`);
  }
  if (!opts.url) throw new UsageError('--url is required');
  let url;
  try {
    url = new URL(opts.url);
  } catch {
    throw new UsageError(`--url is not a URL: ${JSON.stringify(opts.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must be http(s), got ${url.protocol}`);
  if (opts.window && !/^\d{1,6}[smh]$/.test(opts.window)) throw new UsageError(`--window must look like 5m, 1h or 600s, got ${JSON.stringify(opts.window)}`);
  return opts;
}

/** @typedef {{ count: number, success_rate: number | null, throughput_rps: number, latency: { p50: number, p95: number, p99: number } | null, ttft: { p95: number } | null, sla: { status: string, violations: { message: string }[] } }} RouteReport */
/** @typedef {{ passed: boolean, window: string, generated_at: string, overall: RouteReport, violations: { route: string | null, message: string }[], routes: Record<string, RouteReport> }} SlaReport */

/** @param {unknown} x @returns {x is SlaReport} */
function isReport(x) {
  if (typeof x !== 'object' || x === null) return false;
  const r = /** @type {Record<string, unknown>} */ (x);
  return typeof r['passed'] === 'boolean' && typeof r['routes'] === 'object' && r['routes'] !== null && Array.isArray(r['violations']) && typeof r['overall'] === 'object';
}

/**
 * GETs `path` of the gateway with the read token; the body's text, or an error saying why not (unreachable, or the
 * gateway's own error message with its status).
 * @param {ReturnType<typeof parseArgs>} opts @param {string} path @param {string} accept
 * @returns {Promise<{ url: URL, text: string }>}
 */
async function get(opts, path, accept) {
  const url = new URL(path, opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
  if (opts.window) url.searchParams.set('window', opts.window);
  /** @type {Record<string, string>} */
  const headers = { accept };
  if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
  let res;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(opts.timeoutS * 1000) });
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
    throw new Error(`could not reach ${url.origin}: ${e instanceof Error ? e.message : String(e)}${cause}`);
  }
  const text = await res.text();
  if (!res.ok) {
    const err = /** @type {{ error?: { message?: string } } | null} */ (parseJson(text));
    const hint = res.status === 401 ? ' (pass the read token with --token or LLM_SLA_TOKEN)' : '';
    throw new Error(`${url.pathname} answered ${res.status}: ${err?.error?.message ?? text.slice(0, 200)}${hint}`);
  }
  return { url, text };
}

/** @param {string} text @returns {unknown} */
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** @param {ReturnType<typeof parseArgs>} opts @returns {Promise<SlaReport>} */
export async function fetchReport(opts) {
  const { url, text } = await get(opts, 'sla', 'application/json');
  const body = parseJson(text);
  if (!isReport(body)) throw new Error(`${url.pathname} did not answer an SLA report (is ${url.origin} an llm-sla-gateway?)`);
  return body;
}

/** @param {ReturnType<typeof parseArgs>} opts @returns {Promise<string>} The rule file GET /sla/rules answers. */
export async function fetchRules(opts) {
  const { url, text } = await get(opts, 'sla/rules', 'application/yaml');
  if (!/^groups:/m.test(text)) throw new Error(`${url.pathname} did not answer a Prometheus rule file (is ${url.origin} an llm-sla-gateway?)`);
  return text;
}

/** @param {boolean} on */
function painter(on) {
  /** @param {string} code */
  const wrap = (code) => (/** @type {string} */ s) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);
  return { red: wrap('31'), green: wrap('32'), yellow: wrap('33'), dim: wrap('2'), bold: wrap('1') };
}

// eslint-disable-next-line no-control-regex
const visible = (/** @type {string} */ s) => s.replace(/\u001b\[[0-9;]*m/g, '').length;

/** @param {SlaReport} report @param {boolean} color */
export function renderTable(report, color) {
  const c = painter(color);
  const dash = '-';
  const ms = (/** @type {number | null | undefined} */ v) => (v === null || v === undefined ? dash : `${v.toFixed(1)}ms`);
  const pct = (/** @type {number | null} */ v) => (v === null ? dash : `${(v * 100).toFixed(2)}%`);
  const status = (/** @type {string} */ s) => (s === 'passed' ? c.green('PASS') : s === 'failed' ? c.red('FAIL') : c.yellow('NO DATA'));
  const head = ['ROUTE', 'CALLS', 'P50', 'P95', 'P99', 'TTFT P95', 'SUCCESS', 'RPS', 'STATUS'];
  /** @type {string[][]} */
  const rows = [];
  const row = (/** @type {string} */ name, /** @type {RouteReport} */ r) =>
    rows.push([name, String(r.count), ms(r.latency?.p50), ms(r.latency?.p95), ms(r.latency?.p99), ms(r.ttft?.p95), pct(r.success_rate), r.throughput_rps.toFixed(3), status(r.sla.status)]);
  for (const name of Object.keys(report.routes).sort()) row(name, /** @type {RouteReport} */ (report.routes[name]));
  row('(overall)', report.overall);
  const widths = head.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
  const pad = (/** @type {string} */ s, /** @type {number} */ i) => {
    const gap = ' '.repeat((widths[i] ?? 0) - visible(s));
    if (i === head.length - 1) return s; // the last column: no trailing spaces
    return i === 0 ? s + gap : gap + s;
  };
  const lines = [`SLA report, window ${report.window}, ${report.generated_at}`, '', c.bold(head.map(pad).join('  ')), ...rows.map((r) => r.map(pad).join('  '))];
  lines.push('');
  if (report.violations.length) {
    lines.push(c.bold(`Violations (${report.violations.length}):`), ...report.violations.map((v) => `  ${c.red('✗')} ${v.message}`));
  } else {
    lines.push(c.dim('No violations.'));
  }
  return lines.join('\n');
}

/** @param {SlaReport} report @param {boolean} strict */
export function verdict(report, strict) {
  const statuses = [...Object.values(report.routes), report.overall].map((r) => r.sla.status);
  const lacking = Object.values(report.routes).filter((r) => r.sla.status === 'insufficient_data').length;
  if (!report.passed) return { code: 1, line: `SLA check failed: ${report.violations.length} violation(s).` };
  if (strict && lacking > 0) return { code: 1, line: `SLA check failed (--strict): ${lacking} route(s) without enough calls to judge.` };
  const judged = statuses.filter((s) => s === 'passed').length;
  return { code: 0, line: `SLA check passed (${judged} verdict(s) passed${lacking ? `, ${lacking} route(s) without enough data` : ''}).` };
}

/** @param {string[]} argv */
export async function main(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`llm-sla: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (opts.command === 'rules') {
    try {
      process.stdout.write(await fetchRules(opts));
      return 0;
    } catch (e) {
      process.stderr.write(`llm-sla: ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
  }
  let report;
  try {
    report = await fetchReport(opts);
  } catch (e) {
    process.stderr.write(`llm-sla: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const result = verdict(report, opts.strict);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const color = opts.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
    const c = painter(color);
    process.stdout.write(`${renderTable(report, color)}\n\n${result.code === 0 ? c.green(result.line) : c.red(result.line)}\n`);
  }
  return result.code;
}

const invoked = process.argv[1] ? new URL(`file://${process.argv[1]}`).href : '';
if (import.meta.url === invoked || process.argv[1]?.endsWith('/llm-sla') || process.argv[1]?.endsWith('llm-sla.mjs')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`llm-sla: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(2);
    },
  );
}
