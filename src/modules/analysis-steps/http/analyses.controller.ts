import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { CurrentPrincipal, RequireRole } from '../../../common/auth/auth.decorators';
import type { Principal } from '../../../common/auth/principal';
import { CommaSeparated } from '../../../common/validation/validators';
import type { StepStatus } from '../../workflows';
import { StartAnalysisCommand } from '../commands/start-analysis/start-analysis.command';
import { StartAnalysisRequest } from '../commands/start-analysis/start-analysis.request';
import { ListAnalysisStepsQuery } from '../queries/list-analysis-steps/list-analysis-steps.query';

const STEP_STATUSES = ['pending', 'running', 'completed', 'failed', 'skipped', 'cancelled'];

export class ListAnalysisStepsParams {
  @ApiPropertyOptional({
    description: `comma-separated: ${STEP_STATUSES.join(',')}`,
    default: 'pending,running',
  })
  @IsOptional()
  @CommaSeparated()
  @IsIn(STEP_STATUSES, { each: true, message: `status must be among ${STEP_STATUSES.join(', ')}` })
  status?: string[];
}

@ApiTags('analyses')
@ApiBearerAuth()
@Controller('api/projects/:projectId')
export class AnalysesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  /** 202 and the queued `analysis` workflow; a path outside ANALYSIS_ROOT → 400 `validation_failed`. */
  @Post('analyses')
  @RequireRole('producer')
  @HttpCode(202)
  start(
    @CurrentPrincipal() p: Principal,
    @Param('projectId') projectId: string,
    @Body() b: StartAnalysisRequest,
  ) {
    return this.commands.execute(new StartAnalysisCommand(p, projectId, b.path, b.types));
  }

  @Get('analysis-steps')
  steps(@Param('projectId') projectId: string, @Query() q: ListAnalysisStepsParams) {
    const statuses = (q.status?.length ? q.status : ['pending', 'running']) as StepStatus[];
    return this.queries.execute(new ListAnalysisStepsQuery(projectId, statuses));
  }
}
