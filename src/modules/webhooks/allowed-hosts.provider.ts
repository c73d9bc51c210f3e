import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { parseAllowedHosts } from './address-policy';

/** WEBHOOK_ALLOWED_HOSTS, parsed once for both checks: at creation and before each request. */
@Injectable()
export class AllowedHostsProvider {
  readonly hosts: ReadonlySet<string>;

  constructor(config: AppConfig) {
    this.hosts = parseAllowedHosts(config.webhookAllowedHosts);
  }
}
