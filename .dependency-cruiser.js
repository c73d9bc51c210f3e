// Module boundaries, checked by `npm run lint` (ARCHITECTURE.md convention 14).
// - no import cycles, between files or between modules;
// - the shared layers (common, database, config) never import a feature module;
// - a module reaches another only through that module's index.ts (its port);
// - modules are ranked below; a module imports only modules ranked lower, so module cycles cannot form.
/** @type {string[]} lowest first */
const RANKS = [
  'metrics',
  'cluster',
  'keys',
  'event-log',
  'health',
  'dashboard',
  'workflows',
  'progress-tracker',
  'queue-monitoring',
  'sessions',
  'analysis-steps',
  'webhooks',
  'realtime',
];

const rankRules = RANKS.map((mod, i) => ({
  name: `rank-${mod}`,
  comment: `${mod} may import only modules ranked below it (${RANKS.slice(0, i).join(', ') || 'none'})`,
  severity: 'error',
  from: { path: `^src/modules/${mod}/` },
  to: { path: `^src/modules/(${RANKS.slice(i).join('|')})/`, pathNot: `^src/modules/${mod}/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'an import cycle between files',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-never-imports-features',
      severity: 'error',
      comment: 'common, database and config are below every feature module',
      from: { path: '^src/(common|database|config)/' },
      to: { path: '^src/modules/' },
    },
    {
      name: 'only-through-ports',
      severity: 'error',
      comment: 'another module is reached through its index.ts only (its port), never its internals',
      from: { path: '^src/modules/([^/]+)/' },
      to: {
        path: '^src/modules/([^/]+)/.+',
        pathNot: ['^src/modules/$1/', '^src/modules/[^/]+/index\\.ts$'],
      },
    },
    {
      name: 'unknown-module',
      severity: 'error',
      comment: 'every folder under src/modules has a rank in .dependency-cruiser.js',
      from: { path: `^src/modules/(?!(${RANKS.join('|')})/)` },
      to: {},
    },
    ...rankRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
