import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { ProjectMember } from './entities/project-member.entity';
import { Project } from './entities/project.entity';
import { ProjectsController } from './projects.controller';
import { ProjectsService } from './projects.service';
import { ProjectRooms } from './project-rooms';
import { NotificationsServiceModule } from '../notifications/notifications.module';

@Module({
  imports: [TypeOrmModule.forFeature([Project, ProjectMember]), AuthModule, NotificationsServiceModule],
  controllers: [ProjectsController],
  providers: [ProjectsService, ProjectRooms],
  exports: [ProjectsService, ProjectRooms],
})
export class ProjectsModule {}
