import { Logger, Module, type DynamicModule, type Type } from '@nestjs/common';
import { ApiModule } from '@tidings/apps-api';
import { ProjectorModule } from '@tidings/apps-projector';
import { RelayModule } from '@tidings/apps-relay';
import { SagasModule } from '@tidings/apps-sagas';
import { PlatformModule } from '@tidings/platform';
import type { Role, Settings } from '@tidings/settings';

const roleModules: Partial<Record<Role, Type>> = { api: ApiModule, relay: RelayModule, projector: ProjectorModule, sagas: SagasModule };

/** The processes `TIDINGS_ROLES` selects, in one Nest application sharing one platform. */
@Module({})
export class TidingsModule {
  static forRoles(settings: Settings): DynamicModule {
    const running = settings.roles.filter((role) => roleModules[role]);
    const notYet = settings.roles.filter((role) => !roleModules[role]);
    if (notYet.length) new Logger('tidings').warn(`roles not in this build yet: ${notYet.join(', ')}; running ${running.join(', ') || 'nothing'}`);
    return {
      module: TidingsModule,
      imports: [PlatformModule.forRoot(settings, `tidings-${running.join('-')}`), ...running.map((role) => roleModules[role] as Type)],
    };
  }
}
