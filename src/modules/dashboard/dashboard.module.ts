import { Module } from '@nestjs/common';
import { DashboardController } from './dashboard.controller';

/** The team dashboard (CONTRACT §8): a static page served by this app, live over the app's Socket.IO. */
@Module({ controllers: [DashboardController] })
export class DashboardModule {}
