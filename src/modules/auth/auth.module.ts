import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { User } from './entities/user.entity';
import { LoginThrottle } from './login-throttle';
import { UserLookupController } from './user-lookup.controller';
import { UsersService } from './users.service';

@Module({
  imports: [TypeOrmModule.forFeature([User])],
  controllers: [AuthController, UserLookupController],
  providers: [AuthService, UsersService, LoginThrottle],
  exports: [UsersService],
})
export class AuthModule {}
