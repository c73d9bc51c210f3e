import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsString, Length, Matches } from 'class-validator';

export class CreateKeyRequest {
  @ApiProperty()
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiProperty({ enum: ['producer', 'viewer'] })
  @IsIn(['producer', 'viewer'])
  role: 'producer' | 'viewer';

  @ApiProperty({ example: ['p1'], description: 'project ids, or ["*"] for all' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @Matches(/^(\*|[A-Za-z0-9][A-Za-z0-9_.:-]{0,63})$/, {
    each: true,
    message: 'each project must be an id or "*"',
  })
  projects: string[];
}
