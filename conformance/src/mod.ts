/**
 * @module
 * `@sansws/conformance`: an Autobahn-testsuite-equivalent WebSocket conformance suite. Test a server with
 * {@link runServerSuite} (Autobahn's fuzzing client), a client with {@link startFuzzingServer} (Autobahn's
 * fuzzing server); write reports with {@link writeReports}. The command line is `sansws-conformance`.
 */

export { allCases, CATEGORIES, selectCases } from './cases/index.ts';
export type { CaseDef, CaseResult, Evaluation, Mode, ObservedRecord } from './case.ts';
export type { Behavior, CloseBehavior, Observed, Session, WireEntry } from './session.ts';
export { runServerSuite } from './runner-server.ts';
export type { ServerSuiteOptions } from './runner-server.ts';
export { startFuzzingServer } from './runner-client.ts';
export type { FuzzingServer, FuzzingServerOptions } from './runner-client.ts';
export { defaultSettings } from './run-case.ts';
export type { RunSettings } from './run-case.ts';
export { makeReport, renderHtml, summarize, textSummary, writeReports } from './report.ts';
export type { Report } from './report.ts';
