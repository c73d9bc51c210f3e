import { DomainError } from '../../common/errors/domain-error';
import { AddressRefused, resolveChecked, systemResolver, type Resolver } from './address-policy';

/**
 * The creation-time check of a webhook URL (CONTRACT §15): one the URL parser takes, http(s), whose host
 * resolves within RESOLVE_TIMEOUT_MS to addresses that are all allowed. Anything else is bad input:
 * `400 validation_failed` on `url`.
 */
export async function checkWebhookUrl(
  raw: string,
  allowedHosts: ReadonlySet<string>,
  resolver: Resolver = systemResolver,
): Promise<URL> {
  // @IsUrl lets through some URLs WHATWG's parser refuses (e.g. an IPv6 zone id): those are bad input too
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidUrl('url cannot be parsed as a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidUrl('url must be an http(s) URL');
  try {
    await resolveChecked(url.hostname, allowedHosts, resolver);
  } catch (err) {
    if (err instanceof AddressRefused) throw invalidUrl(err.message);
    throw err;
  }
  return url;
}

/**
 * A webhook URL with its user info (a receiver's credentials) replaced by `***`, for keys that may read but
 * not write. The user info runs to the last `@` before the path, query or fragment (a password may hold a
 * raw `@`), which covers at least what the URL parser takes as user info.
 */
export function withoutCredentials(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '***'; // never stored (creation refuses it), but nothing of it is shown either
  }
  if (!url.username && !url.password) return raw;
  const masked = raw.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1***@');
  if (masked !== raw) return masked;
  url.username = '***';
  url.password = '';
  return url.toString();
}

function invalidUrl(message: string): DomainError {
  return new DomainError('validation_failed', `url: ${message}`, [{ field: 'url', message }]);
}
