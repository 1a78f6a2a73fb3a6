import { Command, CommandRunner } from 'nest-commander';
import { DataSource } from 'typeorm';

@Command({ name: 'migrate', description: 'Run pending migrations on the primary' })
export class MigrateCommand extends CommandRunner {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async run(): Promise<void> {
    const ran = await this.dataSource.runMigrations({ transaction: 'each' });
    if (!ran.length) process.stdout.write('Nothing to migrate.\n');
    for (const m of ran) process.stdout.write(`Migrated: ${m.name}\n`);
  }
}
