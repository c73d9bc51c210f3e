/**
 * The channel namespace. Instances that share a database must share it, and two deployments that share one
 * Redis but not a database must not: by default it is derived from the database name (REDIS_PREFIX
 * overrides it). Two deployments whose databases have the same name on different servers need REDIS_PREFIX.
 */
export function clusterNamespace(prefix: string | undefined, databaseUrl: string): string {
  if (prefix) return prefix;
  let name = 'default';
  try {
    const url = new URL(databaseUrl.replace(/^mariadb:/, 'mysql:'));
    name = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'default';
  } catch {
    /* not a URL (sqlite:<file>): keep the default */
  }
  return `stepline:${name}`;
}
