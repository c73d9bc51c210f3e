import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** e2e specs start the built server: `npm test` builds first; this says so plainly when it did not. */
export default function globalSetup(): void {
  const main = process.env.STEPLINE_MAIN ?? join(__dirname, '..', '..', 'dist', 'src', 'main.js');
  if (!existsSync(main))
    throw new Error(`${main} is missing: run \`npm run build\` (npm test does it for you)`);
  process.stdout.write(
    `\n[stepline tests] database: ${/^(mysql|mariadb):/.test(process.env.DATABASE_URL ?? '') ? 'MySQL/MariaDB' : 'SQLite'}\n`,
  );
}
