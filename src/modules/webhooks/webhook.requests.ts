import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  IsUrl,
  MaxLength,
} from 'class-validator';
import { ALL_EVENT_TYPES } from '../../common/events/event-types';

export class CreateWebhookRequest {
  @ApiProperty({ example: 'https://ci.example.com/stepline-hook' })
  @IsString()
  @MaxLength(2048)
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false, require_host: true },
    { message: 'url must be an http(s) URL' },
  )
  url: string;

  @ApiPropertyOptional({ enum: ALL_EVENT_TYPES, isArray: true, description: 'default: every event type' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(ALL_EVENT_TYPES.length)
  @IsIn([...ALL_EVENT_TYPES], {
    each: true,
    message: `each type must be one of ${ALL_EVENT_TYPES.join(', ')}`,
  })
  types?: string[];

  @ApiPropertyOptional({ enum: ['now', 'start'], default: 'now' })
  @IsOptional()
  @IsIn(['now', 'start'])
  from?: 'now' | 'start';
}
