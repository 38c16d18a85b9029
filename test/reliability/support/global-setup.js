// One journal directory per run of the reliability suite, shared by every test file (see journal.ts).
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = async function globalSetup() {
  process.env.TOLLGATE_RELIABILITY_DIR = mkdtempSync(join(tmpdir(), 'tollgate-reliability-'));
};
