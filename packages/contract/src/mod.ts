/**
 * @module
 * `@sansws/contract`: the behavioural contract of every sansws adapter, written once as a list of named
 * async cases over a {@link RuntimeUnderTest}. It imports no test framework: each runtime's runner (vitest
 * for Node, `bun test`, `deno test`) turns the cases into tests. See docs/runtimes.md.
 */

export { contractCases, SIZES } from './cases.ts';
export type { ContractCase } from './harness.ts';
export type {
  Capabilities,
  RuntimeUnderTest,
  SuiteDialOptions,
  SuiteListener,
  SuiteListenOptions,
  SuiteUpgraderOptions,
  TcpServer,
} from './runtime.ts';
export { TEST_CA, TEST_CERT, TEST_KEY } from './fixtures.ts';
export { startProxy } from './net.ts';
export type { Proxy } from './net.ts';
