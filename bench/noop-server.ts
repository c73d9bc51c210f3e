import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';

/**
 * A bare Nest app with one POST route that does nothing: the framework's own floor on this machine, against
 * which the "no-op Nest POST at 7,000–9,000 requests/s" can be checked. Started by the bench as a
 * child process: `node noop-server.js <port> [express|fastify]` (default express): the same controller on
 * @nestjs/platform-express or @nestjs/platform-fastify, to compare the two HTTP adapters alone.
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
  const port = Number(process.argv[2]);
  const app =
    process.argv[3] === 'fastify'
      ? await NestFactory.create(NoopModule, new FastifyAdapter(), { logger: ['error'] })
      : await NestFactory.create(NoopModule, { logger: ['error'] });
  await app.listen(port, '127.0.0.1');
  process.stdout.write('listening\n');
}

void main();
