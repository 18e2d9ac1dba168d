import { Logger, Module, type DynamicModule, type Type } from '@nestjs/common';
import { PlatformModule } from '@tidings/platform';
import type { Role, Settings } from '@tidings/settings';

/**
 * Each role's module, loaded only by the processes and threads that run it: a thread of
 * `tidings start` loads its own role's code, not every role's, so it starts sooner.
 */
const roleModules: Partial<Record<Role, () => Promise<Type>>> = {
  api: async () => (await import('@tidings/apps-api')).ApiModule,
  relay: async () => (await import('@tidings/apps-relay')).RelayModule,
  projector: async () => (await import('@tidings/apps-projector')).ProjectorModule,
  sagas: async () => (await import('@tidings/apps-sagas')).SagasModule,
};

/** The processes `TIDINGS_ROLES` selects, in one Nest application sharing one platform. */
@Module({})
export class TidingsModule {
  static async forRoles(settings: Settings): Promise<DynamicModule> {
    const running = settings.roles.filter((role) => roleModules[role]);
    const notYet = settings.roles.filter((role) => !roleModules[role]);
    if (notYet.length) new Logger('tidings').warn(`roles not in this build yet: ${notYet.join(', ')}; running ${running.join(', ') || 'nothing'}`);
    return {
      module: TidingsModule,
      imports: [PlatformModule.forRoot(settings, `tidings-${running.join('-')}`), ...(await Promise.all(running.flatMap((role) => roleModules[role]?.() ?? [])))],
    };
  }
}
