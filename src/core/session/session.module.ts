import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AppConfig } from '../../config/app-config';
import { Authenticator } from './authenticator';
import { jwtModuleOptions, Tokens } from './tokens';
import { UserCredentials } from './user-credentials';

/** Authentication shared by HTTP, sockets and SSE. */
@Global()
@Module({
  imports: [
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: jwtModuleOptions,
    }),
  ],
  providers: [Tokens, Authenticator, UserCredentials],
  exports: [Tokens, Authenticator, UserCredentials],
})
export class SessionModule {}
