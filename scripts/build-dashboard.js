// Bundles the dashboard (src/modules/dashboard/web, TypeScript on @stepline/client and socket.io-client)
// into one script next to the page `nest build` copied: dist/src/modules/dashboard/public/dashboard.js,
// served at /dashboard/dashboard.js. Runs after `nest build` (which empties dist first).
// `node scripts/build-dashboard.js --size` prints the bundle's raw and gzipped size instead.
const { readFileSync, existsSync, mkdirSync } = require('node:fs');
const { gzipSync } = require('node:zlib');
const { join, dirname } = require('node:path');

const root = join(__dirname, '..');
const outfile = join(root, 'dist', 'src', 'modules', 'dashboard', 'public', 'dashboard.js');

function size() {
  if (!existsSync(outfile)) {
    console.error(`${outfile} is missing: run npm run build first`);
    process.exit(1);
  }
  const raw = readFileSync(outfile);
  const gz = gzipSync(raw, { level: 9 });
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`dashboard.js: ${raw.length} bytes raw (${kb(raw.length)}), ${gz.length} bytes gzipped (${kb(gz.length)})`);
}

function build() {
  const esbuild = require('esbuild');
  mkdirSync(dirname(outfile), { recursive: true });
  esbuild.buildSync({
    entryPoints: [join(root, 'src', 'modules', 'dashboard', 'web', 'main.ts')],
    tsconfig: join(root, 'src', 'modules', 'dashboard', 'web', 'tsconfig.json'),
    outfile,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
}

if (process.argv.includes('--size')) size();
else build();
