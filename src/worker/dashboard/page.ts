import { DASHBOARD_ASSETS } from './assets.generated';

type AssetName = keyof typeof DASHBOARD_ASSETS;

/** The URL of a bundled asset, versioned by its hash (served with a year-long immutable cache). */
export const assetUrl = (name: AssetName): string => `/dashboard/assets/${name}?v=${DASHBOARD_ASSETS[name].hash}`;

/**
 * No inline script or style anywhere: scripts and styles only from the worker itself, data only from
 * `/dashboard/data`. uPlot sizes its elements through the CSSOM, which `style-src 'self'` allows.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function head(title: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="${assetUrl('uplot.css')}"><link rel="stylesheet" href="${assetUrl('app.css')}"></head>`;
}

/** The dashboard: a static shell; app.js fetches the data, draws it, and refreshes it every 10 s. */
export function dashboardPage(): string {
  return `${head('LLM SLA dashboard')}<body>
<header class="top"><h1>LLM SLA <span id="overall"></span></h1><span id="generated">Loading…</span><span class="spacer"></span>
<label for="window">Window</label> <select id="window" aria-label="SLA window"></select></header>
<main>
<p id="error" role="alert" hidden></p>
<table id="routes-table"><thead><tr><th>Route</th><th>Status</th><th>Calls</th><th>Success</th><th>Req/s</th><th>p50</th><th>p95</th><th>p99</th><th>TTFT p95</th></tr></thead><tbody id="routes-body"></tbody></table>
<p id="routes-more" class="none" hidden></p>
<h2>Violations</h2><ul id="violations"></ul>
<h2>Routes</h2><p id="no-routes" class="none" hidden>No calls recorded yet: send traffic through the gateway.</p><div id="routes"></div>
<h2>Recent alerts</h2><table id="alerts"><thead><tr><th>Time</th><th>Route</th><th>Status</th><th>Was</th><th>Violations</th><th>Delivered</th></tr></thead><tbody id="alerts-body"></tbody></table>
</main>
<script src="${assetUrl('app.js')}"></script><script src="${assetUrl('uplot.js')}"></script>
</body></html>`;
}

/** Sign-in form shown instead of the dashboard while `SLA_READ_TOKEN` is set and no valid session is presented. */
export function loginPage(problem: string | null): string {
  return `${head('Sign in · LLM SLA dashboard')}<body><form class="login" method="post" action="/dashboard/login">
<h1>LLM SLA dashboard</h1><label for="token">Read token (<code>SLA_READ_TOKEN</code>)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
${problem === null ? '' : `<p class="problem" role="alert">${esc(problem)}</p>`}<button type="submit">Sign in</button></form></body></html>`;
}
