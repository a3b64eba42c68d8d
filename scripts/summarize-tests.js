// Prints one closing line over everything scripts/test.sh ran: vitest's JSON reports and csi-sanity's JUnit reports.
// "N passed, N failed, N skipped" is the line CI reads; the exit status of scripts/test.sh is the verdict.
const fs = require('node:fs');
const path = require('node:path');

let passed = 0;
let failed = 0;
let skipped = 0;

// npm test's report, the fault harness's (test/faults/run.sh) and the local-cluster e2e's.
for (const vitest of ['.run/vitest.json', '.run/vitest-faults.json', '.run/e2e-vitest.json']) {
  if (!fs.existsSync(vitest)) continue;
  const r = JSON.parse(fs.readFileSync(vitest, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
}

const sanityDir = '.run/sanity';
for (const config of fs.existsSync(sanityDir) ? fs.readdirSync(sanityDir) : []) {
  const file = path.join(sanityDir, config, 'junit.xml');
  if (!fs.existsSync(file)) continue;
  for (const tc of fs.readFileSync(file, 'utf8').match(/<testcase\b[\s\S]*?(?:\/>|<\/testcase>)/g) ?? []) {
    if (/<(failure|error)\b/.test(tc)) failed++;
    else if (/<skipped\b/.test(tc)) skipped++;
    else passed++;
  }
}

console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
