/**
 * The wire format between instances, kept apart from Nest so that it is unit-tested: channel names and
 * `<instanceId> <payload>` messages, so that an instance recognises its own messages before parsing them.
 */

export const TOPICS = ['events', 'keys', 'runs', 'webhooks'] as const;
export type Topic = (typeof TOPICS)[number];

export { clusterNamespace } from '../../config/redis-namespace';

export const channelOf = (namespace: string, topic: Topic): string => `${namespace}:${topic}`;

export const encodeMessage = (instanceId: string, payload: string): string => `${instanceId} ${payload}`;

/** The payload of a message from another instance, or undefined for one of ours (or a malformed one). */
export function decodeForeign(instanceId: string, message: string): string | undefined {
  const space = message.indexOf(' ');
  if (space <= 0) return undefined;
  if (space === instanceId.length && message.startsWith(instanceId)) return undefined;
  return message.slice(space + 1);
}
