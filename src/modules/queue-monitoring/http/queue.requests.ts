import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { ID_MESSAGE, ID_PATTERN } from '../../../common/validation/validators';

export class ClaimRequest {
  @ApiProperty({ pattern: ID_PATTERN.source })
  @Matches(ID_PATTERN, { message: `workerId ${ID_MESSAGE}` })
  workerId: string;

  @ApiPropertyOptional({ default: 30000, minimum: 1000, maximum: 600000 })
  @IsOptional()
  @IsInt()
  @Min(1000)
  @Max(600000)
  leaseMs?: number;

  @ApiPropertyOptional({ default: 0, minimum: 0, maximum: 30000 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(30000)
  waitMs?: number;
}

export class HeartbeatRequest {
  @ApiProperty()
  @IsString()
  @Length(1, 128)
  leaseToken: string;

  @ApiPropertyOptional({ minimum: 1000, maximum: 600000 })
  @IsOptional()
  @IsInt()
  @Min(1000)
  @Max(600000)
  leaseMs?: number;
}

export class QueuesParams {
  @ApiPropertyOptional({
    description: "only this project (beyond the contract: the dashboard's queue panel)",
  })
  @IsOptional()
  @Matches(ID_PATTERN, { message: `projectId ${ID_MESSAGE}` })
  projectId?: string;
}
