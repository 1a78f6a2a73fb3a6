import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type AnalysisStatus = 'queued' | 'running' | 'completed' | 'failed';

@Entity('analyses')
export class Analysis {
  @PrimaryGeneratedColumn({ type: 'int', unsigned: true })
  id!: number;

  @Column({ name: 'project_id', type: 'int', unsigned: true })
  projectId!: number;

  @Column({ name: 'user_id', type: 'int', unsigned: true })
  userId!: number;

  @Column({ type: 'varchar', length: 64 })
  queue!: string;

  @Column({ name: 'job_id', type: 'varchar', length: 64, nullable: true })
  jobId!: string | null;

  @Column({ type: 'enum', enum: ['queued', 'running', 'completed', 'failed'], default: 'queued' })
  status!: AnalysisStatus;

  @Column({ type: 'tinyint', unsigned: true, default: 0 })
  progress!: number;

  @Column({ type: 'int', unsigned: true })
  stations!: number;

  @Column({ name: 'completed_stations', type: 'int', unsigned: true, default: 0 })
  completedStations!: number;

  @Column({ type: 'longtext', nullable: true })
  result!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'started_at', type: 'datetime', precision: 3, nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'datetime', precision: 3, nullable: true })
  finishedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
