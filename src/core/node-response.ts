/**
 * The context's view of Node's response (HTTP/1 or HTTP/2 compatibility), for every host adapter.
 */
import type { OutgoingHttpHeader } from 'node:http';
import type { NodeResponse, ResponseView } from './context';

/** A {@link ResponseView} over Node's response. */
export class NodeResponseView implements ResponseView {
  constructor(private readonly res: NodeResponse) {}
  get status() {
    return this.res.statusCode;
  }
  set status(code: number) {
    // Only when it changes: a store to a response (whose shape Express varies) cost ~1% of a cache hit.
    if (this.res.statusCode !== code) this.res.statusCode = code;
  }
  get headersSent() {
    return this.res.headersSent;
  }
  getHeader(name: string) {
    return this.res.getHeader(name) as OutgoingHttpHeader | undefined;
  }
  setHeader(name: string, value: OutgoingHttpHeader) {
    if (!this.res.headersSent) this.res.setHeader(name, value as string | string[]);
  }
  removeHeader(name: string) {
    if (!this.res.headersSent) this.res.removeHeader(name);
  }
  getHeaders() {
    return this.res.getHeaders() as Record<string, OutgoingHttpHeader | undefined>;
  }
}
