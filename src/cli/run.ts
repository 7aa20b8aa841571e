/**
 * Runs the CLI from source (`node --import tsx src/cli/run.ts …`): the tests
 * and development use it; the published bin runs the compiled main instead.
 */
import { main } from './main.js';

process.exitCode = await main(process.argv);
