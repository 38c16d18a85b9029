// Bare Express: the baseline every Express stack is compared with.
import express from 'express';
import { handler, listen } from '../serve';

const app = express();
app.get('/{*path}', handler);
listen(app);
