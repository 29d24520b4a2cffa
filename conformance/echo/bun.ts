// The Bun entry of conformance/echo (see echo.ts): bun --conditions=source run conformance/echo/bun.ts echo|client …
import { dial, listen, PreparedMessage, Upgrader } from '@sansws/bun';
import { type EchoAdapter, main } from './echo.ts';

const adapter: EchoAdapter = {
  runtime: 'bun',
  listen: listen as unknown as EchoAdapter['listen'],
  createUpgrader: (options) => new Upgrader(options),
  dial,
  prepare: (type, data) => new PreparedMessage(type, data),
};

const status = await main(adapter, Bun.argv.slice(2), async () => {
  const { TEST_CERT, TEST_KEY } = await import('@sansws/contract');
  return { cert: TEST_CERT, key: TEST_KEY };
});
if (status !== undefined) process.exit(status);
