/**
 * Endpoints that check who calls them, for the endpoint-authentication tests (issue 20) and the
 * secret-keeping ones (issue 15): an OAuth 2.0 token server (client credentials, HTTP Basic) and
 * openssl-made certificates for a mutual TLS receiver.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const rand = (n = 12) => randomBytes(n).toString('hex');

/** Listens on an ephemeral loopback port; resolves with the port. */
export const listen = async (s: Server) => {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
};

/** A request's whole body as text. */
export const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => resolve(body));
  });

/** A token server: client credentials with HTTP Basic, tokens that expire after `lifetimeS`. */
export async function startTokenServer(clientId: string, clientSecret: string, lifetimeS: number) {
  const issued = new Map<string, number>(); // token -> expires at (ms)
  const requests: Array<{ grant: string | null; scope: string | null; query: string; auth: string }> = [];
  const server = createHttpServer(async (req, res) => {
    const form = new URLSearchParams(await readBody(req));
    const auth = String(req.headers.authorization ?? '');
    requests.push({ grant: form.get('grant_type'), scope: form.get('scope'), query: new URL(req.url!, 'http://x').search, auth });
    const [id, secret] = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString().split(':').map(decodeURIComponent);
    res.setHeader('content-type', 'application/json');
    if (form.get('grant_type') !== 'client_credentials' || id !== clientId || secret !== clientSecret) {
      res.statusCode = 401;
      return res.end(JSON.stringify({ error: 'invalid_client' }));
    }
    const token = `tok-${requests.length}-${rand(8)}`;
    issued.set(token, Date.now() + lifetimeS * 1000);
    res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: lifetimeS }));
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}/oauth/token`,
    requests,
    /** Whether `token` was issued here and has not expired (or been revoked). */
    valid: (token: string) => (issued.get(token) ?? 0) > Date.now(),
    revoke: (token: string) => issued.delete(token),
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all made with openssl. */
export function makeCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'herald-mtls-'));
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('/usr/bin/openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=Herald test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  const leaf = (name: string, cn: string, ext: string) => {
    writeFileSync(f(`${name}.ext`), ext);
    ssl('req', ...ec, '-subj', `/CN=${cn}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`));
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f(`${name}.ext`), '-out', f(`${name}.pem`));
  };
  leaf('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'herald-client', 'extendedKeyUsage=clientAuth\n');
  const read = (n: string) => readFileSync(f(n), 'utf8');
  return { ca: read('ca.pem'), serverCert: read('server.pem'), serverKey: read('server.key'), clientCert: read('client.pem'), clientKey: read('client.key') };
}
