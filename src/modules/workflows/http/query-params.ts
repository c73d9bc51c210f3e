import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { CommaSeparated, ID_MESSAGE, ID_PATTERN } from '../../../common/validation/validators';

const STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'];

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
