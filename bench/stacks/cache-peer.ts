// Peer: Express + apicache answering hits from memory.
import express from 'express';
const apicache = require('apicache') as { middleware: (duration: string) => express.RequestHandler };
import { handler, listen } from '../serve';

const app = express();
app.use(apicache.middleware('5 minutes'));
app.get('/{*path}', handler);
listen(app);
