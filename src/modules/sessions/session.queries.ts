import { Injectable } from '@nestjs/common';
import { DbService } from '../../database/db.service';
import { WorkflowsPort, type LogView, type Workflow, type WorkflowStatus } from '../workflows';

export type MessageStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface SessionMessage {
  id: string;
  type: 'user' | 'analysis';
  content: string | null;
  status: MessageStatus;
  workflowId: string | null;
  logs: LogView[];
  result: unknown;
  createdAt: string;
}

/** An analysis message mirrors its workflow: queued is `pending`, the rest by name. */
export const mirrorStatus = (s: WorkflowStatus): MessageStatus => (s === 'queued' ? 'pending' : s);

/** The result of the workflow's last step, which is what the analysis answers. */
function lastStepResult(wf: Workflow | undefined): unknown {
  const steps = wf?.state.steps ?? [];
  return steps.length ? (steps[steps.length - 1].result ?? null) : null;
}

/** What a page reloaded mid-analysis needs to resume: session status and its messages. */
@Injectable()
export class SessionQueries {
  constructor(
    private readonly db: DbService,
    private readonly workflows: WorkflowsPort,
  ) {}

  async analysisStatus(projectId: string, sessionId: string) {
    const wf = await this.workflows.sessionHolder(projectId, sessionId);
    if (!wf) return { isAnalyzing: false, messageId: null, status: null, progressLogs: [] };
    const logs = await this.workflows.logsOf([wf.id]);
    return {
      isAnalyzing: true,
      messageId: (wf.state.metadata.messageId as string | undefined) ?? null,
      status: mirrorStatus(wf.status),
      progressLogs: logs.get(wf.id) ?? [],
    };
  }

  async messages(projectId: string, sessionId: string): Promise<{ items: SessionMessage[] }> {
    const rows = await this.db.query(
      'SELECT id, type, content, workflow_id, created_at FROM session_messages WHERE project_id = ? AND session_id = ? ' +
        "ORDER BY created_at, CASE WHEN type = 'user' THEN 0 ELSE 1 END, id",
      [projectId, sessionId],
    );
    const ids = [
      ...new Set(
        rows.filter((r) => r.type === 'analysis' && r.workflow_id).map((r) => r.workflow_id as string),
      ),
    ];
    const wfs = await this.workflows.findByIds(ids);
    const logs = await this.workflows.logsOf(ids);
    return {
      items: rows.map((r): SessionMessage => {
        const createdAt = new Date(Number(r.created_at)).toISOString();
        if (r.type === 'user')
          return {
            id: r.id,
            type: 'user',
            content: r.content,
            status: 'completed',
            workflowId: r.workflow_id ?? null,
            logs: [],
            result: null,
            createdAt,
          };
        const wf = wfs.get(r.workflow_id);
        const result = lastStepResult(wf);
        return {
          id: r.id,
          type: 'analysis',
          content: typeof result === 'string' ? result : r.content,
          status: wf ? mirrorStatus(wf.status) : 'failed',
          workflowId: r.workflow_id ?? null,
          logs: logs.get(r.workflow_id) ?? [],
          result,
          createdAt,
        };
      }),
    };
  }
}
