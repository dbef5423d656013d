import { DEFAULT_SLA_CONFIG, parseSlaConfig, type SlaConfig } from '../core/sla/config';
import { alertInterval } from './schema';

/**
 * The SLA config in force, or its problems. `source` says where the JSON config comes from; `openslo`, where the
 * OpenSLO documents merged into it come from (absent: none).
 */
export type SlaConfigResult =
  | { ok: true; config: SlaConfig; source: 'runtime' | 'env' | 'default'; openslo?: 'runtime' | 'env' }
  | { ok: false; problems: string[] };

/**
 * The vars the SLA routes, the dashboard and the registry's alarm need. Resolved with the rest of the config, and
 * also when the rest is invalid (a bad `PROVIDERS` must not open the read endpoints or stop alerts); an invalid
 * `SLA_CONFIG` is carried as its problems (the proxy keeps working, `/sla` answers 500 with them).
 */
export interface ServiceConfig {
  /** The `SLA_CONFIG` var (a config set with `PUT /sla/config` overrides it: `slaConfigInForce`). */
  readonly sla: SlaConfigResult;
  /** The `SLA_CONFIG` var's text, null when unset: the registry's summary is keyed by it. */
  readonly slaText: string | null;
  /** The `OPENSLO` var (OpenSLO v1 SLO documents, YAML), null when unset: merged into the SLA config in force. */
  readonly opensloText: string | null;
  /** `SLA_READ_TOKEN`, null when reads are open. Secret. */
  readonly readToken: string | null;
  /** `ADMIN_TOKEN`, null when admin endpoints are off. Secret. */
  readonly adminToken: string | null;
  /** `ALERT_WEBHOOK_URL` (http or https), null when unset or invalid. */
  readonly alertWebhookUrl: string | null;
  /** `ALERTMANAGER_URL`: Alertmanager base URLs (comma-separated, http or https), empty when unset. */
  readonly alertmanagerUrls: readonly string[];
  /** `PUBLIC_URL`: the gateway's own base URL, for links in alerts (Alertmanager's generatorURL); null when unset. */
  readonly publicUrl: string | null;
  /** `ALERT_INTERVAL_MS`: how often the registry evaluates alerts and delivers them (default 60 s, at least 1 s). */
  readonly alertIntervalMs: number;
}

export function resolveService(asString: (name: string) => string | undefined): ServiceConfig {
  const secret = (name: string) => {
    const v = asString(name);
    return v !== undefined && v !== '' ? v : null;
  };
  return {
    sla: slaVar(asString('SLA_CONFIG')),
    slaText: asString('SLA_CONFIG')?.trim() ? (asString('SLA_CONFIG') ?? null) : null,
    opensloText: asString('OPENSLO')?.trim() ? (asString('OPENSLO') ?? null) : null,
    readToken: secret('SLA_READ_TOKEN'),
    adminToken: secret('ADMIN_TOKEN'),
    alertWebhookUrl: webhookUrl(asString('ALERT_WEBHOOK_URL')),
    alertmanagerUrls: (asString('ALERTMANAGER_URL') ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== '')
      .flatMap((u) => httpUrl(u, 'ALERTMANAGER_URL')),
    publicUrl: asString('PUBLIC_URL')?.trim() ? (httpUrl(asString('PUBLIC_URL')?.trim() ?? '', 'PUBLIC_URL')[0] ?? null) : null,
    // Validated with the other vars (an invalid value is one of the config's problems); the default stands meanwhile.
    alertIntervalMs: alertInterval.safeParse(asString('ALERT_INTERVAL_MS')).data ?? DEFAULT_ALERT_INTERVAL_MS,
  };
}

/** An http(s) URL without a trailing slash, or nothing (reported: the alerts are still recorded). */
function httpUrl(raw: string, name: string): string[] {
  try {
    const u = new URL(raw);
    if (u.protocol === 'https:' || u.protocol === 'http:') return [u.toString().replace(/\/+$/, '')];
  } catch {
    // reported below
  }
  console.error(`llm-sla-gateway: ${name} holds ${JSON.stringify(raw)}, not an http(s) URL: ignored`);
  return [];
}

export const DEFAULT_ALERT_INTERVAL_MS = 60_000;

function slaVar(raw: string | undefined): SlaConfigResult {
  if (raw === undefined || raw.trim() === '') return { ok: true, config: DEFAULT_SLA_CONFIG, source: 'default' };
  const parsed = parseSlaConfig(raw);
  if (!parsed.ok) console.error(`llm-sla-gateway: invalid SLA_CONFIG:\n  ${parsed.problems.join('\n  ')}`);
  return parsed.ok ? { ok: true, config: parsed.config, source: 'env' } : parsed;
}

function webhookUrl(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  try {
    const u = new URL(raw);
    if (u.protocol === 'https:' || u.protocol === 'http:') return u.toString();
  } catch {
    // reported below
  }
  console.error('llm-sla-gateway: ALERT_WEBHOOK_URL is not an http(s) URL: alerts are recorded but not sent');
  return null;
}
