import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { RequireRole } from '../../../common/auth/auth.decorators';
import { DomainError } from '../../../common/errors/domain-error';
import { ID_MESSAGE, isId } from '../../../common/validation/validators';
import { SubmitAnalysisCommand } from '../commands/submit-analysis/submit-analysis.command';
import { SessionQueries } from '../session.queries';

export class SubmitAnalysisRequest {
  @ApiProperty({ minLength: 1, maxLength: 4000 })
  @IsString()
  @Length(1, 4000)
  question: string;
}

function assertSessionId(sessionId: string): void {
  if (!isId(sessionId))
    throw new DomainError('validation_failed', `sessionId ${ID_MESSAGE}`, [
      { field: 'sessionId', message: ID_MESSAGE },
    ]);
}

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('api/projects/:projectId/sessions/:sessionId')
export class SessionsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: SessionQueries,
  ) {}

  /** 202 `{messageId, workflowId, status: "pending"}`; 409 `analysis_in_progress` with `activeMessageId`. */
  @Post('analysis')
  @RequireRole('producer')
  @HttpCode(202)
  submit(
    @Param('projectId') projectId: string,
    @Param('sessionId') sessionId: string,
    @Body() b: SubmitAnalysisRequest,
  ) {
    assertSessionId(sessionId);
    return this.commands.execute(new SubmitAnalysisCommand(projectId, sessionId, b.question));
  }

  @Get('analysis-status')
  status(@Param('projectId') projectId: string, @Param('sessionId') sessionId: string) {
    assertSessionId(sessionId);
    return this.queries.analysisStatus(projectId, sessionId);
  }

  @Get('messages')
  messages(@Param('projectId') projectId: string, @Param('sessionId') sessionId: string) {
    assertSessionId(sessionId);
    return this.queries.messages(projectId, sessionId);
  }
}
