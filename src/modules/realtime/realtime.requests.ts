import { plainToInstance } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Matches, Min, validateSync } from 'class-validator';
import { jsonLimitProblem } from '../../common/validation/json-limits';
import { ID_MESSAGE, ID_PATTERN } from '../../common/validation/validators';

export class SubscribeMessage {
  @Matches(ID_PATTERN, { message: `projectId ${ID_MESSAGE}` })
  projectId: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  since?: number;

  /** Opt-in: live and replayed events come as `events` messages, arrays of envelopes in seq order. */
  @IsOptional()
  @IsBoolean()
  batch?: boolean;
}

export class ProjectMessage {
  @Matches(ID_PATTERN, { message: `projectId ${ID_MESSAGE}` })
  projectId: string;
}

export class JoinJobMessage {
  @Matches(ID_PATTERN, { message: `workflowId ${ID_MESSAGE}` })
  workflowId: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  since?: number;
}

export class JobMessage {
  @Matches(ID_PATTERN, { message: `workflowId ${ID_MESSAGE}` })
  workflowId: string;
}

/** Socket payloads get the same rules as HTTP bodies (unknown fields rejected); undefined when invalid. */
export function parseMessage<T extends object>(cls: new () => T, payload: unknown): T | undefined {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  if (jsonLimitProblem(payload)) return undefined;
  const obj = plainToInstance(cls, payload);
  const errors = validateSync(obj, { whitelist: true, forbidNonWhitelisted: true });
  return errors.length ? undefined : obj;
}
