// The Node entry of conformance/echo (see echo.ts): node conformance/echo/dist/node.js echo|client …
import process from 'node:process';
import { dial, listen, PreparedMessage, Upgrader } from '@sansws/node';
import { type EchoAdapter, main } from './echo.ts';

export const nodeAdapter: EchoAdapter = {
  runtime: 'node',
  listen: listen as unknown as EchoAdapter['listen'],
  createUpgrader: (options) => new Upgrader(options),
  dial,
  prepare: (type, data) => new PreparedMessage(type, data),
};

const status = await main(nodeAdapter, process.argv.slice(2), async () => {
  const { TEST_CERT, TEST_KEY } = await import('@sansws/contract');
  return { cert: TEST_CERT, key: TEST_KEY };
});
if (status !== undefined) process.exit(status);
