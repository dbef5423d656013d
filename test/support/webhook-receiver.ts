import http from 'node:http';
import { listenLocal, type Listening } from './listen';

export type WebhookReceiver = Listening;

/**
 * An alert webhook on 127.0.0.1: records every POST body. `GET /received` lists them; `POST /fail?count=N` makes the
 * next N deliveries answer 500 (to test retries); `POST /clear` forgets them. Under `/am` it also takes what an
 * Alertmanager takes (`POST /am/api/v2/alerts`, a JSON array), listed by `GET /am/received` (each post, in order).
 */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: unknown[] = [];
  const alertmanager: unknown[] = [];
  let failNext = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && url.pathname === '/received') return res.end(JSON.stringify(received));
      if (req.method === 'POST' && url.pathname === '/clear') {
        received.length = 0;
        alertmanager.length = 0;
        failNext = 0;
        return res.end('{}');
      }
      if (req.method === 'POST' && url.pathname === '/fail') {
        failNext = Number(url.searchParams.get('count') ?? 1);
        return res.end('{}');
      }
      if (req.method === 'GET' && url.pathname === '/am/received') return res.end(JSON.stringify(alertmanager));
      if (req.method === 'POST' && url.pathname === '/am/api/v2/alerts') {
        alertmanager.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        return res.end('');
      }
      if (req.method === 'POST' && url.pathname === '/hook') {
        if (failNext > 0) {
          failNext--;
          res.statusCode = 500;
          return res.end('{"ok":false}');
        }
        try {
          received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          received.push({ unparsable: Buffer.concat(chunks).toString('utf8') });
        }
        return res.end('{"ok":true}');
      }
      res.statusCode = 404;
      res.end('{}');
    });
  });
  return listenLocal(server);
}
