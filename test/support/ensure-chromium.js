// `npm test` runs the dashboard's browser tests in Debian's Chromium. On a fresh machine it is not there yet:
// as root with apt-get (this project's machines), install it once; otherwise say how, and let the browser
// spec fail with the same message (it never skips).
const { existsSync } = require('node:fs');
const { execSync } = require('node:child_process');

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(path)) process.exit(0);
const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get') && !process.env.CHROMIUM_PATH;
if (!canInstall) {
  console.warn(`[stepline tests] Chromium is missing at ${path}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  process.exit(0);
}
console.log('[stepline tests] installing Debian chromium for the browser tests (once)…');
try {
  execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', {
    stdio: 'inherit',
    shell: '/bin/bash',
  });
} catch {
  console.warn('[stepline tests] could not install chromium; the browser spec will fail and say so');
}
