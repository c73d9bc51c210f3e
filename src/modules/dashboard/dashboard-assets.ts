import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The dashboard's files: the only paths the dashboard routes serve (anything else is the JSON 404). */
export const DASHBOARD_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
} as const;

export type DashboardFile = keyof typeof DASHBOARD_FILES;

export interface DashboardAsset {
  body: Buffer;
  contentType: string;
}

/**
 * Where the files are: next to the compiled module (`nest build` copies `public/` there, see nest-cli.json),
 * or, for a build made with plain `tsc` (which copies nothing), in the source tree of the same checkout.
 */
export function dashboardDirCandidates(moduleDir: string): string[] {
  return [
    join(moduleDir, 'public'),
    join(moduleDir, '..', '..', '..', '..', 'src', 'modules', 'dashboard', 'public'),
  ];
}

/** Reads every file once, at start; a build that lost them fails the start, naming the places it looked. */
export function loadDashboardAssets(moduleDir: string): Map<string, DashboardAsset> {
  const candidates = dashboardDirCandidates(moduleDir);
  const dir = candidates.find((d) => Object.keys(DASHBOARD_FILES).every((f) => existsSync(join(d, f))));
  if (!dir) throw new Error(`dashboard assets not found in ${candidates.join(' or ')}`);
  const assets = new Map<string, DashboardAsset>();
  for (const [file, contentType] of Object.entries(DASHBOARD_FILES))
    assets.set(file, { body: readFileSync(join(dir, file)), contentType });
  return assets;
}

/**
 * Everything the page loads comes from this server: its own files, the Socket.IO client bundle and the
 * same-origin API and socket. The browser enforces it.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
