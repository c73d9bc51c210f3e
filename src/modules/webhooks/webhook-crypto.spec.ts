import { backoffMs, MAX_BACKOFF_MS } from './backoff';
import { SecretBox } from './secret-box';
import { newWebhookSecret, signatureHeader, verifySignature } from './signature';

describe('SecretBox', () => {
  it('seals so that only the same server secret opens, and detects tampering', () => {
    const a = SecretBox.fromServerSecret('server-secret-0123456789');
    const secret = newWebhookSecret();
    const sealed = a.seal(secret);
    expect(sealed).not.toContain(secret);
    expect(a.seal(secret)).not.toBe(sealed); // a fresh IV each time
    expect(a.open(sealed)).toBe(secret);
    expect(() => SecretBox.fromServerSecret('another-secret-0123456789').open(sealed)).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('x'.repeat(10)).toString('base64url');
    expect(() => a.open(parts.join('.'))).toThrow();
  });
});

describe('signature', () => {
  it('is t=<seconds>,v1=<hex HMAC-SHA256(secret, "t.body")> and verifies within the tolerance only', () => {
    const h = signatureHeader('s3cret', '{"a":1}', 1700000000);
    expect(h).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature('s3cret', '{"a":1}', h, 300, 1700000000_000)).toBe(true);
    expect(verifySignature('s3cret', '{"a":2}', h, 300, 1700000000_000)).toBe(false);
    expect(verifySignature('s3cret', '{"a":1}', h, 300, 1700001000_000)).toBe(false);
  });
});

describe('backoff', () => {
  it('waits 1 s, doubling, at most 5 min', () => {
    expect([1, 2, 3, 4].map(backoffMs)).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(9)).toBe(256_000);
    expect(backoffMs(10)).toBe(MAX_BACKOFF_MS);
    expect(backoffMs(10_000)).toBe(MAX_BACKOFF_MS);
  });
});
