#!/usr/bin/env node
// Runs the CLI from its TypeScript sources (tsx), so a fresh clone needs no build step.
require('tsx/cjs');
const { main } = require('../src/client/cli.ts');
main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
    process.exitCode = 1;
  },
);
