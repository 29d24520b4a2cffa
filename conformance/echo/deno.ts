// The Deno entry of conformance/echo (see echo.ts): deno run --allow-net conformance/echo/deno.ts echo|client …
import { dial, listen, PreparedMessage, Upgrader } from '@sansws/deno';
import { type EchoAdapter, main } from './echo.ts';

const adapter: EchoAdapter = {
  runtime: 'deno',
  listen: listen as unknown as EchoAdapter['listen'],
  createUpgrader: (options) => new Upgrader(options),
  dial,
  prepare: (type, data) => new PreparedMessage(type, data),
};

const status = await main(adapter, Deno.args, async () => {
  const { TEST_CERT, TEST_KEY } = await import('@sansws/contract');
  return { cert: TEST_CERT, key: TEST_KEY };
});
if (status !== undefined) Deno.exit(status);
