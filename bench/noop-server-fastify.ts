import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * noop-server.ts on the Fastify adapter: the same bare Nest app with one POST route that does nothing, so
 * that the bench can show both adapters' floor side by side. `node noop-server-fastify.js <port>`.
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
  const app = await NestFactory.create<NestFastifyApplication>(NoopModule, new FastifyAdapter(), {
    logger: ['error'],
  });
  await app.listen(Number(process.argv[2]), '127.0.0.1');
  process.stdout.write('listening\n');
}

void main();
