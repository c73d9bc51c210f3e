import { DomainError } from '../../common/errors/domain-error';
import { RESOLVE_TIMEOUT_MS, type Resolver } from './address-policy';
import { checkWebhookUrl } from './webhook-url';

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
