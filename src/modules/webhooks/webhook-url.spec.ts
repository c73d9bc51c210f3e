import { DomainError } from '../../common/errors/domain-error';
import { RESOLVE_TIMEOUT_MS, type Resolver } from './address-policy';
import { checkWebhookUrl, withoutCredentials } from './webhook-url';

/**
 * The creation-time URL check with an injected resolver: no real DNS is asked and nothing is connected to.
 * A host whose lookup never answers is refused with 400 validation_failed on url once RESOLVE_TIMEOUT_MS
 * has passed, instead of holding the request (and a database-free handler) forever.
 */
describe('checkWebhookUrl', () => {
  const asked: string[] = [];
  const never: Resolver = (host) => {
    asked.push(host);
    return new Promise(() => undefined);
  };
  beforeEach(() => (asked.length = 0));
  afterEach(() => jest.useRealTimers());

  it('answers validation_failed naming the url when the host does not resolve in time', async () => {
    jest.useFakeTimers();
    let settled = false;
    const checking = checkWebhookUrl('https://hooks.example.test/x', new Set(), never).then(
      () => {
        settled = true;
        return undefined;
      },
      (e: unknown) => {
        settled = true;
        return e;
      },
    );
    await jest.advanceTimersByTimeAsync(RESOLVE_TIMEOUT_MS - 1);
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const err = await checking;
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({
      code: 'validation_failed',
      details: [
        { field: 'url', message: `hooks.example.test did not resolve within ${RESOLVE_TIMEOUT_MS} ms` },
      ],
    });
    expect(asked).toEqual(['hooks.example.test']);
  });

  it('keeps the same answer for a host that does not resolve at all', async () => {
    const nx: Resolver = () => Promise.reject(new Error('getaddrinfo ENOTFOUND nx.example.test'));
    await expect(checkWebhookUrl('http://nx.example.test/', new Set(), nx)).rejects.toMatchObject({
      code: 'validation_failed',
      details: [{ field: 'url', message: expect.stringMatching(/^nx\.example\.test does not resolve/) }],
    });
  });

  it('refuses a URL the parser refuses, before any lookup', async () => {
    await expect(checkWebhookUrl('http://[fe80::1%25eth0]/', new Set(), never)).rejects.toMatchObject({
      code: 'validation_failed',
      details: [{ field: 'url', message: 'url cannot be parsed as a URL' }],
    });
    expect(asked).toEqual([]);
  });

  it('answers the parsed URL when every address is allowed', async () => {
    const pub: Resolver = () => Promise.resolve([{ address: '93.184.216.34', family: 4 }]);
    const url = await checkWebhookUrl('https://ok.example.test/h', new Set(), pub);
    expect(url.hostname).toBe('ok.example.test');
  });
});

describe('withoutCredentials (what viewers see of a URL)', () => {
  it.each([
    ['https://user:pa55@hooks.example.test/h?x=1', 'https://***@hooks.example.test/h?x=1'],
    ['https://token@hooks.example.test/h', 'https://***@hooks.example.test/h'],
    ['https://u:p@ss@hooks.example.test/h?next=a@b', 'https://***@hooks.example.test/h?next=a@b'],
    ['http://:pw@127.0.0.1:8080/', 'http://***@127.0.0.1:8080/'],
    ['https://hooks.example.test/h?mail=a@b', 'https://hooks.example.test/h?mail=a@b'],
    ['https://hooks.example.test/h', 'https://hooks.example.test/h'],
  ])('%s → %s', (raw, shown) => {
    expect(withoutCredentials(raw)).toBe(shown);
    const url = new URL(withoutCredentials(raw));
    expect([url.password, url.username]).not.toContain('pa55');
    expect(url.password).toBe('');
  });
});
