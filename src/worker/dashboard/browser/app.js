// @ts-check
// The dashboard page's script (served as /dashboard/assets/app.js; bundled by scripts/build-dashboard-assets.mjs).
// Plain browser JavaScript, type-checked with tsconfig.dashboard.json. Everything drawn from the data goes through
// textContent, attributes or uPlot labels: route keys come from a request header and are never parsed as HTML.

/** @typedef {import('../../../core/dashboard').DashboardData} DashboardData */
/** @typedef {import('../../../core/dashboard').DashboardRoute} DashboardRoute */
/** @typedef {import('../../../core/report-types').RouteReport} RouteReport */
/** @typedef {import('uplot').Options} ChartOptions */
/** @typedef {import('uplot').AlignedData} ChartData */
/** @typedef {import('uplot')} Chart */

const WINDOWS = ['5m', '15m', '1h', '6h', '24h'];
const REFRESH_MS = 10_000;
/** Minutes with data are dotted, so a lone minute between empty ones still shows. */
const DOTS = { show: true, size: 5 };

const params = new URLSearchParams(location.search);
let selected = params.get('window') ?? '5m';
if (!WINDOWS.includes(selected)) WINDOWS.push(selected);

/**
 * @param {string} tag
 * @param {{ className?: string, text?: string, data?: Record<string, string>, title?: string }} [props]
 * @param {(Node | string)[]} children
 * @returns {HTMLElement}
 */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  if (props.title !== undefined) node.title = props.title;
  for (const [k, v] of Object.entries(props.data ?? {})) node.dataset[k] = v;
  for (const c of children) node.append(c);
  return node;
}

/** @param {string} id */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node;
}

const DASH = '–';
/** @param {number | null | undefined} v */
const ms = (v) => (v === null || v === undefined ? DASH : `${v.toFixed(1)} ms`);
/** @param {number | null | undefined} v */
const pct = (v) => (v === null || v === undefined ? DASH : `${(v * 100).toFixed(2)}%`);
/** @param {number} v */
const rps = (v) => v.toFixed(v >= 10 ? 1 : 3);
/** @param {string} status */
const badge = (status) => el('span', { className: `badge ${status}`, text: status.replace('_', ' '), data: { status } });

/** @type {Map<string, { card: HTMLElement, latency: Chart | null, traffic: Chart | null, sig: string }>} */
const cards = new Map();

/** @param {RouteReport} r @param {string} name */
function tableRow(name, r) {
  const cells = [r.count, pct(r.success_rate), rps(r.throughput_rps), ms(r.latency?.p50), ms(r.latency?.p95), ms(r.latency?.p99), ms(r.ttft?.p95)];
  return el('tr', { data: { route: name, status: r.sla.status } }, el('td', { text: name }), el('td', {}, badge(r.sla.status)), ...cells.map((c) => el('td', { text: String(c) })));
}

/**
 * @param {DashboardRoute} r
 * @returns {{ xs: number[], latency: { opts: Omit<ChartOptions, 'width' | 'height'>, data: ChartData }, traffic: { opts: Omit<ChartOptions, 'width' | 'height'>, data: ChartData } }}
 */
function chartsOf(r) {
  const xs = r.series.map((p) => Date.parse(p.start) / 1000);
  const t = r.stats.sla.targets;
  /** @type {ChartOptions['series']} */
  const latencySeries = [
    {},
    { label: 'p50', stroke: '#1a7f37', width: 2, points: DOTS },
    { label: 'p95', stroke: '#bf8700', width: 2, points: DOTS },
    { label: 'p99', stroke: '#cf222e', width: 2, points: DOTS },
    { label: 'TTFT p95', stroke: '#8250df', width: 2, points: DOTS },
  ];
  /** @type {(number | null)[][]} */
  const latencyData = [r.series.map((p) => p.p50), r.series.map((p) => p.p95), r.series.map((p) => p.p99), r.series.map((p) => p.ttft_p95)];
  /** @type {[number | undefined, string, string][]} */
  const latencyTargets = [
    [t.max_p50_ms, 'p50 target', '#1a7f37'],
    [t.max_p90_ms, 'p90 target', '#9a6700'],
    [t.max_p95_ms, 'p95 target', '#bf8700'],
    [t.max_p99_ms, 'p99 target', '#cf222e'],
    [t.max_ttft_p95_ms, 'TTFT p95 target', '#8250df'],
  ];
  for (const [value, label, stroke] of latencyTargets) {
    if (value === undefined) continue;
    latencySeries.push({ label, stroke, dash: [6, 4], width: 1, points: { show: false } });
    latencyData.push(xs.map(() => value));
  }
  /** @type {ChartOptions['series']} */
  const trafficSeries = [
    {},
    { label: 'req/s', scale: 'rps', stroke: '#0969da', width: 2, fill: 'rgba(9,105,218,0.08)', points: DOTS },
    { label: 'success %', scale: '%', stroke: '#1a7f37', width: 2, points: DOTS },
  ];
  /** @type {(number | null)[][]} */
  const trafficData = [r.series.map((p) => (p.count > 0 ? p.throughput_rps : null)), r.series.map((p) => (p.success_rate === null ? null : p.success_rate * 100))];
  if (t.min_throughput_rps !== undefined) {
    const v = t.min_throughput_rps;
    trafficSeries.push({ label: 'req/s target', scale: 'rps', stroke: '#0969da', dash: [6, 4], width: 1, points: { show: false } });
    trafficData.push(xs.map(() => v));
  }
  if (t.min_success_rate !== undefined) {
    const v = t.min_success_rate * 100;
    trafficSeries.push({ label: 'success target', scale: '%', stroke: '#1a7f37', dash: [6, 4], width: 1, points: { show: false } });
    trafficData.push(xs.map(() => v));
  }
  return {
    xs,
    latency: {
      opts: { title: 'Latency (ms), per minute', series: latencySeries, scales: { x: { time: true } }, axes: [{}, { label: 'ms', size: 60 }] },
      data: /** @type {ChartData} */ ([xs, ...latencyData]),
    },
    traffic: {
      opts: {
        title: 'Throughput and success rate, per minute',
        series: trafficSeries,
        scales: { x: { time: true }, '%': { range: [0, 100] } },
        axes: [{}, { scale: 'rps', label: 'req/s', size: 60 }, { scale: '%', side: 1, label: 'success %', grid: { show: false } }],
      },
      data: /** @type {ChartData} */ ([xs, ...trafficData]),
    },
  };
}

/** @param {HTMLElement} box */
const chartWidth = (box) => Math.max(280, box.clientWidth - 8);

/**
 * @param {Chart | null} chart
 * @param {HTMLElement} box
 * @param {{ opts: Omit<ChartOptions, 'width' | 'height'>, data: ChartData }} spec
 * @param {boolean} rebuild
 * @returns {Chart}
 */
function draw(chart, box, spec, rebuild) {
  if (chart && !rebuild) {
    chart.setData(spec.data);
    return chart;
  }
  chart?.destroy();
  box.replaceChildren();
  return new window.uPlot({ ...spec.opts, width: chartWidth(box), height: 220 }, spec.data, box);
}

/**
 * The route's error budget: what is left over the SLO period, and the burn rates; empty without an SLO.
 * @param {import('../../../core/sla/slo').ErrorBudget | null} b
 */
function budgetLine(b) {
  if (b === null) return '';
  const burn = (/** @type {keyof typeof b.burn_rates} */ w) => {
    const x = b.burn_rates[w];
    return `${w} ${x === null ? DASH : `${x.toFixed(1)}x`}`;
  };
  const alerts = b.burning.length ? ` · burning: ${b.burning.join(', ')}` : '';
  return `Error budget ${(b.budget_remaining * 100).toFixed(1)}% left of ${b.period} (${(b.objective * 100).toFixed(2)}%) · burn ${['5m', '1h', '6h', '3d'].map((w) => burn(/** @type {keyof typeof b.burn_rates} */ (w))).join(' · ')}${alerts}`;
}

/** @param {DashboardRoute} r */
function routeCard(r) {
  const s = r.stats;
  let entry = cards.get(r.route);
  if (!entry) {
    const card = el(
      'section',
      { className: 'route-card', data: { route: r.route } },
      el('header', {}, el('h3', { text: r.route }), el('span', { className: 'status' })),
      el('p', { className: 'figures' }),
      el('p', { className: 'budget' }),
      el('ul', { className: 'route-violations' }),
      el('div', { className: 'charts' }, el('div', { className: 'chart latency' }), el('div', { className: 'chart traffic' })),
    );
    entry = { card, latency: null, traffic: null, sig: '' };
    cards.set(r.route, entry);
  }
  const { card } = entry;
  card.dataset['status'] = s.sla.status;
  card.querySelector('.status')?.replaceChildren(badge(s.sla.status));
  card.querySelector('.figures')?.replaceChildren(
    `${s.count} calls · success ${pct(s.success_rate)} · ${rps(s.throughput_rps)} req/s · p50 ${ms(s.latency?.p50)} · p95 ${ms(s.latency?.p95)} · p99 ${ms(s.latency?.p99)} · TTFT p95 ${ms(s.ttft?.p95)}`,
  );
  card.querySelector('.budget')?.replaceChildren(budgetLine(s.error_budget ?? null));
  card.querySelector('.route-violations')?.replaceChildren(...s.sla.violations.map((v) => el('li', { text: v.message })));
  const spec = chartsOf(r);
  const sig = JSON.stringify([spec.latency.opts.series?.map((x) => x.label), spec.traffic.opts.series?.map((x) => x.label)]);
  const latencyBox = /** @type {HTMLElement} */ (card.querySelector('.chart.latency'));
  const trafficBox = /** @type {HTMLElement} */ (card.querySelector('.chart.traffic'));
  return { entry, spec, sig, latencyBox, trafficBox };
}

/** @param {DashboardData} data */
function render(data) {
  byId('overall').replaceChildren(badge(data.passed ? 'passed' : 'failed'));
  byId('overall').dataset['status'] = data.passed ? 'passed' : 'failed';
  byId('generated').textContent = `Window ${data.window} · updated ${new Date(data.generated_at).toLocaleTimeString()} · charts: last hour per minute`;

  const rows = data.routes.map((r) => tableRow(r.route, r.stats));
  byId('routes-body').replaceChildren(...rows, tableRow('overall', data.overall));
  // A large deployment: the routes drawn are the failing and the busiest; every route is in /sla.
  const more = byId('routes-more');
  more.hidden = data.routes_total <= data.routes.length;
  more.textContent = `${data.routes.length} of ${data.routes_total} routes shown (failing first, then the busiest); every route is in /sla.`;

  const violations = data.violations.map((v) => el('li', { text: v.message }));
  if (data.violations_total > data.violations.length) violations.push(el('li', { className: 'none', text: `and ${data.violations_total - data.violations.length} more in /sla` }));
  byId('violations').replaceChildren(...(violations.length ? violations : [el('li', { className: 'none', text: 'None' })]));

  const alerts = data.alerts.map((a) =>
    el(
      'tr',
      { data: { route: a.route } },
      el('td', { text: new Date(a.at).toLocaleString() }),
      el('td', { text: a.route }),
      el('td', {}, badge(a.status)),
      el('td', { text: a.previous_status.replace('_', ' ') }),
      el('td', { text: a.violations.join('; ') || DASH }),
      el('td', { text: a.delivered ? 'yes' : 'no' }),
    ),
  );
  byId('alerts-body').replaceChildren(...(alerts.length ? alerts : [el('tr', {}, el('td', { className: 'none', text: 'No alerts yet' }))]));

  const container = byId('routes');
  const seen = new Set(data.routes.map((r) => r.route));
  for (const [route, entry] of cards) {
    if (seen.has(route)) continue;
    entry.latency?.destroy();
    entry.traffic?.destroy();
    entry.card.remove();
    cards.delete(route);
  }
  const built = data.routes.map(routeCard);
  container.replaceChildren(...built.map((b) => b.entry.card));
  byId('no-routes').hidden = data.routes.length > 0;
  // Charts are drawn once their boxes are in the document and have a width.
  for (const b of built) {
    const rebuild = b.entry.sig !== b.sig;
    b.entry.latency = draw(b.entry.latency, b.latencyBox, b.spec.latency, rebuild);
    b.entry.traffic = draw(b.entry.traffic, b.trafficBox, b.spec.traffic, rebuild);
    b.entry.sig = b.sig;
  }
  // When the first data were drawn, in ms since the navigation began (the page's own clock, for tests and users).
  document.body.dataset['loadedMs'] ??= String(Math.round(performance.now()));
  document.body.dataset['loaded'] = 'true';
  document.body.dataset['generatedAt'] = data.generated_at;
}

/** @param {string} message */
function showError(message) {
  const box = byId('error');
  box.textContent = message;
  box.hidden = message === '';
}

/** @param {string} window */
const fetchData = (window) => fetch(`/dashboard/data?window=${encodeURIComponent(window)}`, { credentials: 'same-origin', headers: { accept: 'application/json' } });

// The first data request starts as this script runs, while uPlot's script (after this one) is fetched and parsed;
// it is drawn once the document (uPlot included) is ready.
/** @type {Promise<Response> | null} */
let first = fetchData(selected);
const ready = new Promise((resolve) => (document.readyState === 'loading' ? document.addEventListener('DOMContentLoaded', resolve, { once: true }) : resolve(null)));

async function load() {
  try {
    const asked = first ?? fetchData(selected);
    first = null;
    const res = await asked;
    await ready;
    if (res.status === 401) {
      location.reload(); // the session ended: the page shows the sign-in form
      return;
    }
    if (!res.ok) {
      /** @type {{ error?: { message?: string } }} */
      const body = await res.json().catch(() => ({}));
      showError(`Could not load the SLA data (${res.status}): ${body.error?.message ?? res.statusText}`);
      return;
    }
    render(/** @type {DashboardData} */ (await res.json()));
    showError('');
  } catch (e) {
    showError(`Could not load the SLA data: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function setUp() {
  const select = /** @type {HTMLSelectElement} */ (byId('window'));
  select.replaceChildren(...WINDOWS.map((w) => {
    const o = /** @type {HTMLOptionElement} */ (el('option', { text: w }));
    o.value = w;
    o.selected = w === selected;
    return o;
  }));
  select.addEventListener('change', () => {
    selected = select.value;
    const url = new URL(location.href);
    url.searchParams.set('window', selected);
    history.replaceState(null, '', url);
    void load();
  });
  window.addEventListener('resize', () => {
    for (const entry of cards.values()) {
      const box = entry.card.querySelector('.chart.latency');
      if (!(box instanceof HTMLElement)) continue;
      entry.latency?.setSize({ width: chartWidth(box), height: 220 });
      entry.traffic?.setSize({ width: chartWidth(box), height: 220 });
    }
  });
  void load();
  setInterval(() => void load(), REFRESH_MS);
}

setUp();
