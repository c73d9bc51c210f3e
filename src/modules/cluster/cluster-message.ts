/**
 * The wire format between instances, kept apart from Nest so that it is unit-tested: channel names and
 * `<instanceId> <payload>` messages, so that an instance recognises its own messages before parsing them.
 */

export const TOPICS = ['events', 'keys', 'runs', 'webhooks'] as const;
export type Topic = (typeof TOPICS)[number];

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

export const channelOf = (namespace: string, topic: Topic): string => `${namespace}:${topic}`;

export const encodeMessage = (instanceId: string, payload: string): string => `${instanceId} ${payload}`;

/** The payload of a message from another instance, or undefined for one of ours (or a malformed one). */
export function decodeForeign(instanceId: string, message: string): string | undefined {
  const space = message.indexOf(' ');
  if (space <= 0) return undefined;
  if (space === instanceId.length && message.startsWith(instanceId)) return undefined;
  return message.slice(space + 1);
}
