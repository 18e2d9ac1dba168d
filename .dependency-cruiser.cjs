/**
 * Executable architecture rules (STYLE.md 1, 4, 8): the domain stays pure, and a context is
 * used only through its index.ts.
 */
const EDGE_FILES = '\\.(module|controller|resolver|gateway|consumer|projection|repository|bench|int\\.spec|e2e-spec)\\.ts$';
const CONTEXTS = '(inventory|orders|payments|checkout|views|social|imports|config)';
const IO_MODULES = [
  '(^|/)node_modules/(@nestjs|pg|pg-[^/]+|typeorm|nats|@nats-io|@eventstore|fastify|@fastify)/',
  '^(node:)?(fs|net|http|https|http2|child_process|dgram|dns|tls)$',
];

module.exports = {
  forbidden: [
    {
      name: 'pure-core',
      comment: 'libs/core is types and pure functions: no Nest, no I/O.',
      severity: 'error',
      from: { path: '^libs/core/src/', pathNot: '\\.spec\\.ts$' },
      to: { path: IO_MODULES, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'pure-domain',
      comment: 'Domain files of a context (deciders, events, state) import no Nest and no I/O; only edge files do.',
      severity: 'error',
      from: { path: `^libs/${CONTEXTS}/src/`, pathNot: EDGE_FILES },
      to: { path: IO_MODULES, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'lib-through-index',
      comment: 'Another lib is imported only through its src/index.ts.',
      severity: 'error',
      from: { path: '^libs/([^/]+)/' },
      to: { path: '^libs/[^/]+/src/', pathNot: ['^libs/$1/', '^libs/[^/]+/src/index\\.ts$'] },
    },
    {
      name: 'app-through-index',
      comment: 'Apps, migrations and tests use a lib only through its src/index.ts.',
      severity: 'error',
      from: { path: '^(apps|migrations|test)/' },
      to: { path: '^libs/[^/]+/src/', pathNot: ['^libs/[^/]+/src/index\\.ts$'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
