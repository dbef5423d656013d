/**
 * The dashboard's session cookie: `<issued at, epoch s>.<HMAC-SHA256 of it, hex>`, keyed with a key derived from the
 * read token (never the token itself). It expires server-side `SESSION_S` after issue whatever the browser keeps,
 * a changed issue time breaks the signature, and rotating the token ends every session.
 */
export const SESSION_S = 12 * 3600;
/** A cookie issued this far in the future (clock skew between isolates) is still accepted. */
const SKEW_S = 60;

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key of a token: SHA-256 of a label and the token, imported once per token per isolate. */
function keyOf(token: string): Promise<CryptoKey> {
  let key = keys.get(token);
  if (!key) {
    key = crypto.subtle
      .digest('SHA-256', encoder.encode(`llm-sla-dashboard-session-key\u0000${token}`))
      .then((raw) => crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']));
    if (keys.size >= 8) keys.clear();
    keys.set(token, key);
  }
  return key;
}

async function signature(token: string, issuedS: number): Promise<ArrayBuffer> {
  return crypto.subtle.sign('HMAC', await keyOf(token), encoder.encode(`llm-sla-dashboard\u0000${issuedS}`));
}

const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');

/** The cookie value of a session issued at `issuedS` (epoch seconds). */
export async function sessionValue(token: string, issuedS: number): Promise<string> {
  return `${issuedS}.${hex(await signature(token, issuedS))}`;
}

/** Whether `value` is a session signed with `token`'s key, issued at most `SESSION_S` before `nowS`. */
export async function validSession(value: string, token: string, nowS: number): Promise<boolean> {
  const m = /^(\d{1,12})\.([0-9a-f]{64})$/.exec(value);
  if (!m) return false;
  const issuedS = Number(m[1]);
  if (issuedS > nowS + SKEW_S || nowS - issuedS > SESSION_S) return false;
  const given = Uint8Array.from((m[2] as string).match(/../g) ?? [], (h) => parseInt(h, 16));
  return crypto.subtle.timingSafeEqual(given, await signature(token, issuedS));
}
