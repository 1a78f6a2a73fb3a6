import { DynamicModule, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { collectDefaultMetricsOnce } from './default-metrics';
import { MetricsAliasController } from './metrics-alias.controller';
import { MetricsController } from './metrics.controller';

/**
 * The api's /metrics, with the default metrics. A dynamic module: PrometheusModule.register() starts the
 * default metrics when it is called, and called in this class's decorator it did so in every process that
 * loaded the file (queue:work and every CLI command load the api's module graph).
 */
@Module({})
export class MetricsModule {
  static forApi(): DynamicModule {
    collectDefaultMetricsOnce();
    return {
      module: MetricsModule,
      imports: [PrometheusModule.register({ path: '/metrics', controller: MetricsController, defaultMetrics: { enabled: false } })],
      controllers: [MetricsAliasController],
    };
  }
}
