export { AnalysisStepsModule } from './analysis-steps.module';
