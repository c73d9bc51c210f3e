export { ProgressTrackerModule } from './progress-tracker.module';
