import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Post } from '@nestjs/common';
import { CurrentUser } from '../../core/session/auth.decorators';
import type { Principal } from '../../core/session/principal';
import { CreateProjectDto } from './dto/create-project.dto';
import { ProjectsService, ProjectView } from './projects.service';

@Controller('api/projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Post()
  create(@CurrentUser() me: Principal, @Body() dto: CreateProjectDto): Promise<ProjectView> {
    return this.projects.create(me.id, dto.name, dto.memberIds);
  }

  @Get()
  list(@CurrentUser() me: Principal): Promise<ProjectView[]> {
    return this.projects.listFor(me.id);
  }

  @Get(':id')
  get(@CurrentUser() me: Principal, @Param('id', ParseIntPipe) id: number): Promise<ProjectView> {
    return this.projects.get(me, id);
  }

  /** The owner or an admin; a member may remove themself. Live subscriptions end with the membership. */
  @Delete(':id/members/:userId')
  @HttpCode(204)
  removeMember(@CurrentUser() me: Principal, @Param('id', ParseIntPipe) id: number, @Param('userId', ParseIntPipe) userId: number): Promise<void> {
    return this.projects.removeMember(me, id, userId);
  }
}
