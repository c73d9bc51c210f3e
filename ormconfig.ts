import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './src/database/data-source-options';

/** DataSource for the TypeORM CLI (`npm run migration:run`); the app builds the same one from DATABASE_URL. */
export default new DataSource(dataSourceOptions(process.env.DATABASE_URL ?? 'sqlite:./data/stepline.sqlite'));
