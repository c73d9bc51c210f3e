import { ApiKeyOrmEntity } from '../modules/keys/database/api-key.orm-entity';
import { EventOrmEntity, ProjectOrmEntity } from '../modules/event-log/event.orm-entity';
import {
  WorkflowLogOrmEntity,
  WorkflowOrmEntity,
  WorkflowStepOrmEntity,
} from '../modules/workflows/database/workflow.orm-entity';
import { RunHistoryOrmEntity } from '../modules/progress-tracker/eta/run-history.orm-entity';

export const ORM_ENTITIES = [
  ProjectOrmEntity,
  EventOrmEntity,
  WorkflowOrmEntity,
  WorkflowStepOrmEntity,
  WorkflowLogOrmEntity,
  ApiKeyOrmEntity,
  RunHistoryOrmEntity,
];
