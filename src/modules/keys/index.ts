// Keys' port: the module (it binds common's PrincipalResolver to its service).
export { KeysModule } from './keys.module';
