import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  registerDecorator,
  ValidateNested,
} from 'class-validator';
import { FastPath } from '../../../common/validation/fast-path';
import { ID_MESSAGE, ID_PATTERN, IsPlainObject, MaxJsonBytes } from '../../../common/validation/validators';
import {
  acceptBatchProgress,
  acceptStepProgress,
  MAX_BATCH_UPDATES,
  MAX_MESSAGE_LENGTH,
  MAX_METRICS_BYTES,
  progressOrCountError,
} from './progress-requests.fast-path';
import {
  acceptCreateWorkflow,
  MAX_ATTEMPTS,
  MAX_METADATA_BYTES,
  MAX_NAME_LENGTH,
  MAX_STALE_AFTER_MS,
  MAX_STEPS,
  MIN_STALE_AFTER_MS,
} from './create-request.fast-path';

const IsId = () => Matches(ID_PATTERN, { message: `$property ${ID_MESSAGE}` });

function UniqueStepIds() {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'uniqueStepIds',
      target: object.constructor,
      propertyName,
      options: { message: 'step ids must be unique within the workflow' },
      validator: {
        validate: (v: unknown) => !Array.isArray(v) || new Set(v.map((s: any) => s?.id)).size === v.length,
      },
    });
}

/**
 * progress, or current+total; and current ≤ total when both are given. It stands alone on `progress`
 * (no @IsOptional, which would skip it exactly when progress is absent) and checks the range itself.
 */
function ProgressOrCount() {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'progressOrCount',
      target: object.constructor,
      propertyName,
      validator: {
        validate: (_: unknown, args) => progressOrCountError(args?.object as ProgressFields) === null,
        defaultMessage: (args) => progressOrCountError(args?.object as ProgressFields) ?? 'invalid progress',
      },
    });
}

export class StepDefinition {
  @ApiProperty()
  @IsId()
  id: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, MAX_NAME_LENGTH)
  name?: string;

  @ApiPropertyOptional({ default: 1 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(Number.MIN_VALUE, { message: 'weight must be > 0' })
  @Max(1e9)
  weight?: number;
}

export class ParentRequest {
  @ApiProperty()
  @IsId()
  workflowId: string;

  @ApiProperty()
  @IsId()
  stepId: string;
}

@FastPath(acceptCreateWorkflow)
export class CreateWorkflowRequest {
  @ApiPropertyOptional({ description: 'client id; generated when absent' })
  @IsOptional()
  @IsId()
  id?: string;

  @ApiProperty()
  @IsId()
  type: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, MAX_NAME_LENGTH)
  name?: string;

  @ApiProperty({ type: [StepDefinition] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_STEPS)
  @UniqueStepIds()
  @IsPlainObject({ each: true, message: 'each step must be an object' })
  @ValidateNested({ each: true })
  @Type(() => StepDefinition)
  steps: StepDefinition[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsId()
  queue?: string;

  @ApiPropertyOptional({ default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_ATTEMPTS)
  maxAttempts?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsId()
  sessionId?: string;

  @ApiPropertyOptional({ default: 1800000 })
  @IsOptional()
  @IsInt()
  @Min(MIN_STALE_AFTER_MS)
  @Max(MAX_STALE_AFTER_MS)
  staleAfterMs?: number;

  @ApiPropertyOptional({ type: Object })
  @IsOptional()
  @IsPlainObject()
  @MaxJsonBytes(MAX_METADATA_BYTES)
  metadata?: Record<string, unknown>;

  @ApiPropertyOptional({ type: ParentRequest, description: 'create as a child of this workflow step (§14)' })
  @IsOptional()
  @IsPlainObject({ message: 'parent must be an object' })
  @ValidateNested()
  @Type(() => ParentRequest)
  parent?: ParentRequest;
}

export class MessageRequest {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  message?: string;
}

class ProgressFields {
  @ApiPropertyOptional({ minimum: 0, maximum: 100 })
  @ProgressOrCount()
  progress?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  current?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  total?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(MAX_MESSAGE_LENGTH)
  message?: string;
}

@FastPath(acceptStepProgress)
export class StepProgressRequest extends ProgressFields {
  @ApiPropertyOptional({ type: Object })
  @IsOptional()
  @IsPlainObject()
  @MaxJsonBytes(MAX_METRICS_BYTES)
  metrics?: Record<string, unknown>;
}

export class CompleteStepRequest extends MessageRequest {
  @ApiPropertyOptional({ description: 'any JSON, at most 256 KiB' })
  @IsOptional()
  @MaxJsonBytes(256 * 1024)
  result?: unknown;
}

export class ErrorInfoRequest {
  @ApiProperty()
  @IsString()
  @Length(1, 4000)
  message: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 100)
  code?: string;
}

export class FailStepRequest {
  @ApiProperty({ type: ErrorInfoRequest })
  @IsDefined()
  @ValidateNested()
  @Type(() => ErrorInfoRequest)
  error: ErrorInfoRequest;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  retryable?: boolean;
}

export class CancelWorkflowRequest {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  reason?: string;
}

export const LOG_LEVELS = ['debug', 'info', 'success', 'warning', 'error'] as const;

export class AppendLogRequest {
  @ApiProperty({ enum: LOG_LEVELS })
  @IsIn(LOG_LEVELS)
  level: (typeof LOG_LEVELS)[number];

  @ApiProperty()
  @IsString()
  @Length(1, 4000)
  message: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsId()
  stepId?: string;

  @ApiPropertyOptional({ description: 'any JSON, at most 16 KiB' })
  @IsOptional()
  @MaxJsonBytes(16 * 1024)
  details?: unknown;
}

export class BatchProgressUpdate extends ProgressFields {
  @ApiProperty()
  @IsId()
  workflowId: string;

  @ApiProperty()
  @IsId()
  stepId: string;
}

@FastPath(acceptBatchProgress)
export class BatchProgressRequest {
  @ApiProperty({ type: [BatchProgressUpdate] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH_UPDATES)
  // ValidateNested alone lets a nested array through (it validates the inner array's elements, here none)
  @IsPlainObject({ each: true, message: 'each update must be an object' })
  @ValidateNested({ each: true })
  @Type(() => BatchProgressUpdate)
  updates: BatchProgressUpdate[];
}
