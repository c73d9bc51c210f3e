import { Module } from '@nestjs/common';
import { WorkflowsModule } from '../workflows';
import { SubmitAnalysisHandler } from './commands/submit-analysis/submit-analysis.handler';
import { SessionsController } from './http/sessions.controller';
import { LogRetentionService } from './log-retention.service';
import { SessionQueries } from './session.queries';

@Module({
  imports: [WorkflowsModule],
  controllers: [SessionsController],
  providers: [SubmitAnalysisHandler, SessionQueries, LogRetentionService],
})
export class SessionsModule {}
