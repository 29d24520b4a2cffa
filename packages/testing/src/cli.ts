#!/usr/bin/env node
/**
 * The `sansws-fuzz` executable: see `command.ts` for the options.
 *
 * @module
 */

import process from 'node:process';
import { runCli } from './command.ts';

process.exitCode = await runCli(process.argv.slice(2), process.stdout, process.stderr);
