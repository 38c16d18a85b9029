/** `npm run walkthrough`: starts the demo, plays the Kong + Auth0 walkthrough, prints it, stops. */
import { format, play } from './play';
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, portFromEnv, startDemo } from './setup';

async function main() {
  const demo = await startDemo(portFromEnv(process.env, 0));
  try {
    const id = demo.mode === 'local' ? DEMO_CLIENT_ID : process.env.AUTH0_CLIENT_ID;
    const secret = demo.mode === 'local' ? DEMO_CLIENT_SECRET : process.env.AUTH0_CLIENT_SECRET;
    if (!id || !secret) throw new Error('with AUTH0_DOMAIN set, also set AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET');
    console.log(`tollgate walkthrough: gateway ${demo.url}/httpbin, issuer ${demo.issuer}, upstream ${demo.upstreamUrl}\n`);
    console.log(format(await play(demo.url, id, secret)));
  } finally {
    await demo.close();
  }
}

main().catch((err: unknown) => {
  console.error(`walkthrough failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
