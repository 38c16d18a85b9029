// Peer: Express + express-oauth2-jwt-bearer validating the same RS256 token.
import express from 'express';
import { auth } from 'express-oauth2-jwt-bearer';
import { env, handler, listen } from '../serve';

const app = express();
app.use(auth({ issuerBaseURL: env.issuerUrl, audience: env.audience }));
app.get('/{*path}', handler);
listen(app);
