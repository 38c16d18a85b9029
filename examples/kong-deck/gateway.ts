/**
 * The walkthrough's decK file (./kong.yaml) mounted in Express: the whole gateway is the file.
 */
import express from 'express';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromKong, type KongGateway } from 'tollgate/kong';

/** The decK variables the file reads. */
export interface DeckEnv {
  /** Where `/httpbin` goes: `http://httpbin.org`, or a local upstream. */
  DECK_HTTPBIN_URL: string;
  /** `https://TENANT.us.auth0.com/` (or a local test issuer). */
  DECK_ISSUER: string;
  /** The Auth0 API identifier, sent as the `audience` post argument. */
  DECK_AUDIENCE: string;
}

export const DECK_FILE = join(__dirname, 'kong.yaml');

export function kongDeckApp(env: DeckEnv): { app: express.Express; kong: KongGateway } {
  const kong = fromKong(readFileSync(DECK_FILE, 'utf8'), { env: { ...env } });
  const app = express();
  app.use(kong.express());
  return { app, kong };
}
