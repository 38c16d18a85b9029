/** `npm start`: the Kong + Auth0 walkthrough on your machine, serving until stopped. */
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD, DEMO_USER, portFromEnv, startDemo } from './setup';

async function main() {
  const demo = await startDemo(portFromEnv(process.env, 8000));
  const base = `localhost:${demo.port}`;
  const creds = demo.mode === 'local' ? `${DEMO_CLIENT_ID}:${DEMO_CLIENT_SECRET}` : '<client id>:<client secret>';
  console.log(`tollgate walkthrough gateway on ${demo.url}/httpbin  (Ctrl-C to stop)

  issuer    ${demo.issuer}${demo.mode === 'local' ? '  (local, Auth0-shaped test issuer)' : '  (Auth0)'}
  audience  ${demo.audience}
  upstream  ${demo.upstreamUrl}${process.env.UPSTREAM_URL ? '' : '  (local echo, like httpbin)'}
  policies  oidc client credentials → rateLimit 5/minute → proxyCache 30 s → upstreamProxy
${demo.mode === 'local' ? `  client    id ${DEMO_CLIENT_ID}, secret ${DEMO_CLIENT_SECRET}\n` : ''}
Try:
  curl -i -u ${creds} ${base}/httpbin/get          # 200, X-Cache-Status: Miss; the upstream saw "Authorization: Bearer …"
  curl -i -u ${creds} ${base}/httpbin/get          # again: X-Cache-Status: Hit, with Age
  curl -i -u ${DEMO_CLIENT_ID}:wrong-secret ${base}/httpbin/get   # 401 {"message":"Unauthorized"}
  for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w "%{http_code}\\n" -u ${creds} ${base}/httpbin/get; done   # …then 429

Or let it play the whole story: npm run walkthrough
Metrics (Prometheus text format): curl ${base}/metrics
${demo.appUrl ? `\nIn a browser: ${demo.appUrl}  (end-user login${demo.mode === 'local' ? `: user ${DEMO_USER}, password ${DEMO_PASSWORD}` : ''}; use 127.0.0.1, the host of the callback URL)\n` : ''}`);
  const stop = () => {
    void demo.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`could not start the demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
