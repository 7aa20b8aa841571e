// require('gemini-batch-stream'): the package is ES modules. Node 20.19+, 22.12+ and 24
// load them through require() (require(esm)); older lines get one sentence saying what to do.
'use strict';
try {
  module.exports = require('../dist/index.js');
} catch (err) {
  if (err && err.code === 'ERR_REQUIRE_ESM') {
    throw new Error("gemini-batch-stream is an ES module: use `import { geminiBatch } from 'gemini-batch-stream'` (from CommonJS, `await import('gemini-batch-stream')`), or Node 20.19+, 22.12+ or 24 where require() loads it");
  }
  throw err;
}
