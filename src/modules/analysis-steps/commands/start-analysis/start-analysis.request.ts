import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMinSize, ArrayUnique, IsArray, IsIn, IsOptional, IsString, Length } from 'class-validator';
import { ANALYSIS_TYPES, type AnalysisType } from '../../analyzers/registry';

export class StartAnalysisRequest {
  @ApiProperty({ description: 'a directory relative to ANALYSIS_ROOT ("." for the root itself)' })
  @IsString()
  @Length(1, 1024)
  path: string;

  @ApiPropertyOptional({ enum: ANALYSIS_TYPES, isArray: true, default: ANALYSIS_TYPES })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(ANALYSIS_TYPES, { each: true, message: `types must be among ${ANALYSIS_TYPES.join(', ')}` })
  types?: AnalysisType[];
}
