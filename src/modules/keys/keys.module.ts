import { Global, Module } from '@nestjs/common';
import { PrincipalResolver } from '../../common/auth/principal-resolver';
import { CurrentKeyController } from './current-key.controller';
import { KeysController } from './keys.controller';
import { KeysService } from './keys.service';

@Global()
@Module({
  // the literal route first, so that `me` is never taken for a key id
  controllers: [CurrentKeyController, KeysController],
  providers: [KeysService, { provide: PrincipalResolver, useExisting: KeysService }],
  exports: [PrincipalResolver],
})
export class KeysModule {}
