import { Injectable } from '@nestjs/common';
import { notFound } from '../../../common/errors/domain-error';
import type { Principal } from '../../../common/auth/principal';
import { WorkflowRepository } from './workflow.repository';

/**
 * Which project a workflow belongs to (it never changes, so it is cached). Also where existence is
 * hidden: a workflow outside the caller's projects is reported exactly like one that does not exist.
 */
@Injectable()
export class WorkflowDirectory {
  private readonly cache = new Map<string, string>();

  constructor(private readonly workflows: WorkflowRepository) {}

  remember(workflowId: string, projectId: string): void {
    if (this.cache.size > 200_000) this.cache.clear();
    this.cache.set(workflowId, projectId);
  }

  async projectFor(principal: Principal, workflowId: string): Promise<string> {
    let projectId = this.cache.get(workflowId);
    if (!projectId) {
      projectId = await this.workflows.projectOf(workflowId);
      if (projectId) this.remember(workflowId, projectId);
    }
    if (!projectId || !principal.canRead(projectId)) throw notFound(`workflow ${workflowId}`);
    return projectId;
  }
}
