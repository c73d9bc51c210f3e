import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, RequireRole } from '../../../common/auth/auth.decorators';
import type { Principal } from '../../../common/auth/principal';
import { CreateWorkflowCommand } from '../commands/create-workflow/create-workflow.command';
import { StartStepCommand } from '../commands/start-step/start-step.command';
import { RecordStepProgressCommand } from '../commands/record-step-progress/record-step-progress.command';
import { CompleteStepCommand } from '../commands/complete-step/complete-step.command';
import { FailStepCommand } from '../commands/fail-step/fail-step.command';
import { SkipStepCommand } from '../commands/skip-step/skip-step.command';
import { CancelWorkflowCommand } from '../commands/cancel-workflow/cancel-workflow.command';
import { AppendLogCommand } from '../commands/append-log/append-log.command';
import { RecordProgressBatchCommand } from '../commands/record-progress-batch/record-progress-batch.command';
import {
  GetStepDurationsQuery,
  GetWorkflowQuery,
  ListLogsQuery,
  ListWorkflowsQuery,
} from '../queries/workflow.queries';
import type { WorkflowStatus } from '../domain/workflow.types';
import {
  AppendLogRequest,
  BatchProgressRequest,
  CancelWorkflowRequest,
  CompleteStepRequest,
  CreateWorkflowRequest,
  FailStepRequest,
  MessageRequest,
  StepProgressRequest,
} from './workflow.requests';
import { AfterParams } from '../../../common/validation/after.params';
import { ListWorkflowsParams, StepDurationsParams } from './query-params';
import { StepDurationsView, WorkflowPage, WorkflowView } from '../views/workflow.view';

@ApiTags('workflows')
@ApiBearerAuth()
@ApiHeader({
  name: 'X-Lease-Token',
  required: false,
  description: 'required for writes to a claimed workflow (§6)',
})
@Controller('api')
export class WorkflowsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post('projects/:projectId/workflows')
  @RequireRole('producer')
  @ApiOkResponse({ type: WorkflowView, description: '201 created, or 200 for the same id and body again' })
  async create(
    @CurrentPrincipal() p: Principal,
    @Param('projectId') projectId: string,
    @Body() body: CreateWorkflowRequest,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<WorkflowView> {
    const { created, workflow } = await this.commands.execute(new CreateWorkflowCommand(p, projectId, body));
    res.status(created ? 201 : 200);
    return workflow;
  }

  @Get('projects/:projectId/workflows')
  @ApiOkResponse({ type: WorkflowPage })
  list(@Param('projectId') projectId: string, @Query() q: ListWorkflowsParams): Promise<WorkflowPage> {
    return this.queries.execute(
      new ListWorkflowsQuery(
        projectId,
        (q.status ?? []) as WorkflowStatus[],
        q.type,
        q.limit ?? 50,
        q.cursor,
        {
          search: q.search,
          typePrefix: q.typePrefix,
          queue: q.queue,
          createdFrom: q.createdFrom === undefined ? undefined : Date.parse(q.createdFrom),
          createdTo: q.createdTo === undefined ? undefined : Date.parse(q.createdTo),
        },
      ),
    );
  }

  @Get('projects/:projectId/step-durations')
  @ApiOkResponse({ type: StepDurationsView })
  stepDurations(
    @Param('projectId') projectId: string,
    @Query() q: StepDurationsParams,
  ): Promise<StepDurationsView> {
    return this.queries.execute(new GetStepDurationsQuery(projectId, q.type));
  }

  @Get('workflows/:id')
  @ApiOkResponse({ type: WorkflowView })
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<WorkflowView> {
    return this.queries.execute(new GetWorkflowQuery(p, id));
  }

  @Post('workflows/:id/steps/:stepId/start')
  @RequireRole('producer')
  @HttpCode(200)
  @ApiOkResponse({ type: WorkflowView })
  start(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Param('stepId') stepId: string,
    @Body() b: MessageRequest,
    @Headers('x-lease-token') lease?: string,
  ) {
    return this.commands.execute(new StartStepCommand(p, id, stepId, b.message, lease));
  }

  @Post('workflows/:id/steps/:stepId/progress')
  @RequireRole('producer')
  @HttpCode(200)
  @ApiOkResponse({ type: WorkflowView })
  progress(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Param('stepId') stepId: string,
    @Body() b: StepProgressRequest,
    @Headers('x-lease-token') lease?: string,
  ) {
    return this.commands.execute(new RecordStepProgressCommand(p, id, stepId, b, lease));
  }

  @Post('workflows/:id/steps/:stepId/complete')
  @RequireRole('producer')
  @HttpCode(200)
  @ApiOkResponse({ type: WorkflowView })
  complete(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Param('stepId') stepId: string,
    @Body() b: CompleteStepRequest,
    @Headers('x-lease-token') lease?: string,
  ) {
    return this.commands.execute(new CompleteStepCommand(p, id, stepId, b.result, b.message, lease));
  }

  @Post('workflows/:id/steps/:stepId/fail')
  @RequireRole('producer')
  @HttpCode(200)
  @ApiOkResponse({ type: WorkflowView })
  fail(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Param('stepId') stepId: string,
    @Body() b: FailStepRequest,
    @Headers('x-lease-token') lease?: string,
  ) {
    return this.commands.execute(new FailStepCommand(p, id, stepId, b.error, b.retryable ?? false, lease));
  }

  @Post('workflows/:id/steps/:stepId/skip')
  @RequireRole('producer')
  @HttpCode(200)
  @ApiOkResponse({ type: WorkflowView })
  skip(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Param('stepId') stepId: string,
    @Body() b: MessageRequest,
    @Headers('x-lease-token') lease?: string,
  ) {
    return this.commands.execute(new SkipStepCommand(p, id, stepId, b.message, lease));
  }

  @Post('workflows/:id/cancel')
  @RequireRole('producer')
  @HttpCode(200)
  @ApiOkResponse({ type: WorkflowView })
  cancel(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() b: CancelWorkflowRequest) {
    return this.commands.execute(new CancelWorkflowCommand(p, id, b.reason));
  }

  @Post('workflows/:id/logs')
  @RequireRole('producer')
  appendLog(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Body() b: AppendLogRequest,
    @Headers('x-lease-token') lease?: string,
  ) {
    return this.commands.execute(new AppendLogCommand(p, id, b, lease));
  }

  @Get('workflows/:id/logs')
  logs(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Query() q: AfterParams) {
    return this.queries.execute(new ListLogsQuery(p, id, q.after ?? 0, q.limit ?? 100));
  }

  @Post('progress')
  @RequireRole('producer')
  @HttpCode(200)
  async batch(
    @CurrentPrincipal() p: Principal,
    @Body() b: BatchProgressRequest,
    @Headers('x-lease-token') lease?: string,
  ) {
    return { results: await this.commands.execute(new RecordProgressBatchCommand(p, b.updates, lease)) };
  }
}
