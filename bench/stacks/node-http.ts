// The ceiling: node:http answering the same JSON document as every other stack.
import http from 'node:http';
import { listen } from '../serve';

const body = JSON.stringify({ ok: true, items: [1, 2, 3], message: 'hello from upstream' });
listen(
  http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }),
);
