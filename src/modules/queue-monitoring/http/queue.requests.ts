import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { FastPath } from '../../../common/validation/fast-path';
import { ID_MESSAGE, ID_PATTERN } from '../../../common/validation/validators';
import {
  acceptClaim,
  acceptHeartbeat,
  MAX_LEASE_MS,
  MAX_LEASE_TOKEN_LENGTH,
  MAX_WAIT_MS,
  MIN_LEASE_MS,
} from './queue-requests.fast-path';

@FastPath(acceptClaim)
export class ClaimRequest {
  @ApiProperty({ pattern: ID_PATTERN.source })
  @Matches(ID_PATTERN, { message: `workerId ${ID_MESSAGE}` })
  workerId: string;

  @ApiPropertyOptional({ default: 30000, minimum: 1000, maximum: 600000 })
  @IsOptional()
  @IsInt()
  @Min(MIN_LEASE_MS)
  @Max(MAX_LEASE_MS)
  leaseMs?: number;

  @ApiPropertyOptional({ default: 0, minimum: 0, maximum: 30000 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_WAIT_MS)
  waitMs?: number;
}

@FastPath(acceptHeartbeat)
export class HeartbeatRequest {
  @ApiProperty()
  @IsString()
  @Length(1, MAX_LEASE_TOKEN_LENGTH)
  leaseToken: string;

  @ApiPropertyOptional({ minimum: 1000, maximum: 600000 })
  @IsOptional()
  @IsInt()
  @Min(MIN_LEASE_MS)
  @Max(MAX_LEASE_MS)
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
