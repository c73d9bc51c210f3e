export { SessionsModule } from './sessions.module';
