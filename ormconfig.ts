// The TypeORM CLI data source (SPEC §6). Defined in src/ so it is built to
// dist/ormconfig.js with the app: `npx typeorm -d dist/ormconfig.js migration:show`.
export { default } from './src/ormconfig';
