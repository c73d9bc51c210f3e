import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const VERSION = 'v1';

/**
 * Webhook secrets at rest: AES-256-GCM under a key derived with HKDF-SHA256 from a server secret that is not
 * in the database. The stored form is `v1.<iv>.<tag>.<ciphertext>` (base64url); a wrong key fails the GCM tag.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** HKDF is right for a high-entropy input (a ≥ 16-char token or 32 random bytes), not for a password. */
  static fromServerSecret(serverSecret: string | Buffer): SecretBox {
    const key = hkdfSync('sha256', serverSecret, 'stepline-webhooks', 'webhook-secret-encryption v1', 32);
    return new SecretBox(Buffer.from(key));
  }

  /** A random key kept in `file` (created 0600 on first use): for a single instance with no configured secret. */
  static fromKeyFile(file: string): SecretBox {
    let raw: string;
    try {
      raw = readFileSync(file, 'utf8').trim();
    } catch {
      mkdirSync(dirname(file), { recursive: true });
      raw = randomBytes(32).toString('base64url');
      try {
        writeFileSync(file, `${raw}\n`, { mode: 0o600, flag: 'wx' });
      } catch {
        raw = readFileSync(file, 'utf8').trim(); // another process created it first
      }
      chmodSync(file, 0o600);
    }
    return SecretBox.fromServerSecret(raw);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), ct]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /** Throws when the value was sealed under another key (the server secret changed) or was altered. */
  open(sealed: string): string {
    const [v, iv, tag, ct] = sealed.split('.');
    if (v !== VERSION || !iv || !tag || ct === undefined) throw new Error('not a sealed webhook secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }
}
