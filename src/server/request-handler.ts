// What serves a request: the app, the hello page or the proxy (a leaf, so client-auth.ts and https-server.ts do
// not import each other).
import type { IncomingMessage, ServerResponse } from 'node:http';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
