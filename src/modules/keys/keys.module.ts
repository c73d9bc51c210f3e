import { Global, Module } from '@nestjs/common';
import { CurrentKeyController } from './current-key.controller';
import { KeysController } from './keys.controller';
import { KeysService } from './keys.service';

@Global()
@Module({
  // the literal route first, so that `me` is never taken for a key id
  controllers: [CurrentKeyController, KeysController],
  providers: [KeysService],
  exports: [KeysService],
})
export class KeysModule {}
