import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { CommaSeparated, ID_MESSAGE, ID_PATTERN, IsDateTime } from '../../../common/validation/validators';

const STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'];

export class StepDurationsParams {
  @ApiProperty({ description: 'the workflow type' })
  @Matches(ID_PATTERN, { message: `type ${ID_MESSAGE}` })
  type: string;
}

export class ListWorkflowsParams {
  @ApiPropertyOptional({ description: 'comma-separated: queued,running,completed,failed,cancelled' })
  @IsOptional()
  @CommaSeparated()
  @IsIn(STATUSES, { each: true, message: `status must be among ${STATUSES.join(', ')}` })
  status?: string[];

  @ApiPropertyOptional()
  @IsOptional()
  @Matches(ID_PATTERN, { message: `type ${ID_MESSAGE}` })
  type?: string;

  @ApiPropertyOptional({ description: 'the start of a type: workflows whose type begins with it' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `typePrefix must be the start of an id (${ID_MESSAGE})` })
  typePrefix?: string;

  @ApiPropertyOptional({ description: 'the queue the workflows were created on' })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `queue ${ID_MESSAGE}` })
  queue?: string;

  @ApiPropertyOptional({ description: 'a part of the id or the name, any case (1-100 characters)' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  search?: string;

  @ApiPropertyOptional({ description: 'created at or after this time (ISO 8601)' })
  @IsOptional()
  @IsDateTime()
  createdFrom?: string;

  @ApiPropertyOptional({ description: 'created before this time (ISO 8601)' })
  @IsOptional()
  @IsDateTime()
  createdTo?: string;

  @ApiPropertyOptional({ default: 50, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  cursor?: string;
}
