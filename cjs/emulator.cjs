// require('gemini-batch-stream/emulator'): see index.cjs.
'use strict';
try {
  module.exports = require('../dist/emulator/index.js');
} catch (err) {
  if (err && err.code === 'ERR_REQUIRE_ESM') {
    throw new Error("gemini-batch-stream/emulator is an ES module: use `import { startEmulator } from 'gemini-batch-stream/emulator'` (from CommonJS, `await import(...)`), or Node 20.19+, 22.12+ or 24 where require() loads it");
  }
  throw err;
}
