import 'reflect-metadata';
import { startApp } from './app.factory';

startApp().then(
  (app) => {
    void app.getUrl().then((url) => process.stdout.write(`Stepline listening on ${url}\n`));
  },
  (err: Error) => {
    process.stderr.write(`Stepline failed to start: ${err.message}\n`);
    process.exit(1);
  },
);
