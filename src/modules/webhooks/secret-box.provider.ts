import { Injectable, Logger } from '@nestjs/common';
import { dirname, join, resolve } from 'node:path';
import { AppConfig } from '../../config/app.config';
import { SecretBox } from './secret-box';

/**
 * The key webhook secrets are sealed under, from (first that is set): WEBHOOK_SECRET_KEY; ADMIN_TOKEN; a
 * random key generated once into `webhook-secret.key` beside the SQLite file (./data for MySQL). Every
 * instance of a cluster must derive the same key: set WEBHOOK_SECRET_KEY (or the same ADMIN_TOKEN) on all.
 */
@Injectable()
export class SecretBoxProvider {
  private readonly logger = new Logger('Webhooks');
  private cached?: SecretBox;

  constructor(private readonly config: AppConfig) {}

  get box(): SecretBox {
    if (this.cached) return this.cached;
    const configured = this.config.webhookSecretKey ?? this.config.adminToken;
    if (configured) return (this.cached = SecretBox.fromServerSecret(configured));
    const url = this.config.databaseUrl;
    const dir = url.startsWith('sqlite:') ? dirname(resolve(url.slice('sqlite:'.length))) : resolve('data');
    const file = join(dir, 'webhook-secret.key');
    this.logger.log(
      `webhook secrets are sealed under the key in ${file} (set WEBHOOK_SECRET_KEY to choose one)`,
    );
    return (this.cached = SecretBox.fromKeyFile(file));
  }
}
