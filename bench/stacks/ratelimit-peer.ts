// Peer: Express + express-rate-limit with its memory store, a limit the run never reaches.
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { handler, listen } from '../serve';

const app = express();
app.use(rateLimit({ windowMs: 60_000, limit: 1_000_000_000, standardHeaders: 'draft-6', legacyHeaders: true, validate: false }));
app.get('/{*path}', handler);
listen(app);
