// The http-01 responder (RFC 8555 §8.3): a plain-HTTP listener that answers GET (and HEAD)
// /.well-known/acme-challenge/<token> with the key authorization while an order is open, and nothing else:
// every other request gets 404, so the port serves no content of the app in the clear. Tokens are base64url
// (§8.1); a token is answered only between the order's challengeCreateFn and challengeRemoveFn.

import { createServer, type Server } from 'node:http';

const PREFIX = '/.well-known/acme-challenge/';
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

export interface ChallengeResponder {
  readonly url: string;
  set(token: string, keyAuthorization: string): void;
  delete(token: string): void;
  close(): Promise<void>;
}

export async function startChallengeResponder(host: string, port: number, log: (message: string) => void): Promise<ChallengeResponder> {
  const answers = new Map<string, string>();
  const server: Server = createServer({ maxHeaderSize: 8192 }, (req, res) => {
    const token = req.url?.startsWith(PREFIX) ? req.url.slice(PREFIX.length) : undefined;
    const answer = token !== undefined && TOKEN.test(token) && (req.method === 'GET' || req.method === 'HEAD') ? answers.get(token) : undefined;
    if (answer === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain', connection: 'close' }).end('not found\n');
      return;
    }
    log(`answered the http-01 challenge for token ${token} from ${req.socket.remoteAddress}`);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(answer) }).end(req.method === 'HEAD' ? undefined : answer);
  });
  // The CA's validation is one short request: keep slow or idle clients from holding the port.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 2_000;
  // open to the internet on port 80 for months: a cap, so held sockets cannot take the TLS listener's descriptors
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}${PREFIX}`,
    set: (token, keyAuthorization) => {
      if (!TOKEN.test(token)) throw new Error(`the CA sent a token that is not base64url: ${JSON.stringify(token.slice(0, 40))}`);
      answers.set(token, keyAuthorization);
    },
    delete: (token) => answers.delete(token),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
