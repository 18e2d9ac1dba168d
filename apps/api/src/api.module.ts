import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { DeadLettersController } from './admin/dead-letters.controller';
import { ProjectionAdmin, ProjectionsController } from './admin/projections.controller';
import { SagaAdmin, SagasController } from './admin/sagas.controller';
import { AccessGuard } from './auth/access';
import { Catalog } from './catalog/catalog.service';
import { ProductsController } from './catalog/products.controller';
import { TaxRates, TaxRatesController } from './config/tax-rates';
import { Commands } from './http/command-context';
import { ProblemFilter } from './http/problem.filter';
import { ReadModels } from './http/read-models';
import { ImportsController } from './imports/imports.controller';
import { Imports } from './imports/imports.service';
import { HealthController } from './operations/health.controller';
import { Metrics, MetricsController } from './operations/metrics';
import { OrdersController } from './orders/orders.controller';
import { Orders } from './orders/orders.service';
import { SocialController } from './social/social.controller';
import { Social } from './social/social.service';
import { ViewsController } from './views/views.controller';
import { Views } from './views/views.service';

/** The public face (API.md): REST controllers over the command path and the read models. */
@Module({
  controllers: [ProductsController, OrdersController, ViewsController, SocialController, ImportsController, TaxRatesController, ProjectionsController, SagasController, DeadLettersController, HealthController, MetricsController],
  providers: [Commands, ReadModels, Metrics, Catalog, Orders, Views, Social, Imports, TaxRates, ProjectionAdmin, SagaAdmin, { provide: APP_GUARD, useClass: AccessGuard }, { provide: APP_FILTER, useClass: ProblemFilter }],
})
export class ApiModule {}
