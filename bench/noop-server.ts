import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

/**
 * A bare Nest (express) app with one POST route that does nothing: the framework's own floor on this
 * machine, against which the "no-op Nest POST at 7,000–9,000 requests/s" can be checked.
 * Started by the bench as a child process: `node noop-server.js <port>`.
 */
@Controller()
class NoopController {
  @Post('noop')
  @HttpCode(200)
  noop(@Body() body: unknown): { ok: boolean } {
    return { ok: body !== undefined };
  }
}

@Module({ controllers: [NoopController] })
class NoopModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(NoopModule, { logger: ['error'] });
  await app.listen(Number(process.argv[2]), '127.0.0.1');
  process.stdout.write('listening\n');
}

void main();
