import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ALL_EVENT_TYPES } from '../../common/events/event-types';
import { DomainError, notFound } from '../../common/errors/domain-error';
import { EventLogRepository } from '../event-log';
import { AllowedHostsProvider } from './allowed-hosts.provider';
import { newWebhookSecret } from './signature';
import { SecretBoxProvider } from './secret-box.provider';
import { WebhookDeliveryService } from './webhook-delivery.service';
import type { CreateWebhookRequest } from './webhook.requests';
import { checkWebhookUrl, withoutCredentials } from './webhook-url';
import { WebhooksRepository } from './webhooks.repository';

/** A project has at most this many webhooks. */
export const MAX_WEBHOOKS_PER_PROJECT = 50;

export interface WebhookView {
  id: string;
  url: string;
  types: string[];
  cursor: number;
  lastDeliveredAt: string | null;
  lastError: string | null;
  failingSince: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Creating, listing and deleting webhooks (CONTRACT §15). Creating one sends nothing. */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly repo: WebhooksRepository,
    private readonly log: EventLogRepository,
    private readonly box: SecretBoxProvider,
    private readonly delivery: WebhookDeliveryService,
    private readonly allowed: AllowedHostsProvider,
  ) {}

  async create(projectId: string, req: CreateWebhookRequest) {
    await checkWebhookUrl(req.url, this.allowed.hosts);
    if ((await this.repo.countForProject(projectId)) >= MAX_WEBHOOKS_PER_PROJECT)
      throw new DomainError('conflict', `a project has at most ${MAX_WEBHOOKS_PER_PROJECT} webhooks`);
    const types = req.types ? [...new Set(req.types)] : null;
    const secret = newWebhookSecret();
    const cursor = req.from === 'start' ? 0 : await this.log.lastSeq(projectId);
    const id = `wh_${randomUUID()}`;
    await this.repo.insert({
      id,
      projectId,
      url: req.url,
      types,
      sealedSecret: this.box.box.seal(secret),
      cursor,
      attempts: 0,
      nextAttemptAt: null,
      lastDeliveredAt: null,
      lastError: null,
      failingSince: null,
      createdAt: Date.now(),
    });
    this.delivery.kick();
    return { id, url: req.url, types: types ?? [...ALL_EVENT_TYPES], secret, cursor };
  }

  /** With `credentials: false` (viewers), each URL's user info is shown as `***`. */
  async list(projectId: string, { credentials }: { credentials: boolean }): Promise<WebhookView[]> {
    return (await this.repo.listForProject(projectId)).map((r) => ({
      id: r.id,
      url: credentials ? r.url : withoutCredentials(r.url),
      types: r.types ?? [...ALL_EVENT_TYPES],
      cursor: r.cursor,
      lastDeliveredAt: iso(r.lastDeliveredAt),
      lastError: r.lastError,
      failingSince: iso(r.failingSince),
    }));
  }

  async remove(projectId: string, id: string): Promise<void> {
    if (!(await this.repo.delete(projectId, id))) throw notFound(`webhook ${id}`);
    this.delivery.deleted(id);
  }
}
