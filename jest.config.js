/** @type {import('jest').Config} */
const swc = ['@swc/jest', {
  jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
  module: { type: 'commonjs' },
}];

// jose, openid-client and oidc-provider are ESM-only: jest on Node 20 cannot require() them,
// so they are transformed to CommonJS like our own sources (shared/reference/node-anchors.md §7.2);
// cookie 2 (under light-my-request, behind fastify.inject) is ESM-only too.
const esmOnly = ['jose', 'openid-client', 'oauth4webapi', 'oidc-provider', 'quick-lru', 'nanoid', 'eta', 'jsesc', '@koa', 'cookie'];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/examples'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/test/reliability/', '/test/pack/fixture/'],
  transform: { '^.+\\.(t|j|mj)s$': swc },
  // Anything under node_modules except those packages, also where they are nested (light-my-request's cookie).
  transformIgnorePatterns: [`^(?!.*/node_modules/(${esmOnly.join('|')})/).*/node_modules/`],
  moduleNameMapper: {
    '^tollgate$': '<rootDir>/src/index.ts',
    '^tollgate/express$': '<rootDir>/src/adapters/express.ts',
    '^tollgate/koa$': '<rootDir>/src/adapters/koa.ts',
    '^tollgate/fastify$': '<rootDir>/src/adapters/fastify.ts',
    '^tollgate/node$': '<rootDir>/src/adapters/node.ts',
    '^tollgate/testing$': '<rootDir>/src/testing/index.ts',
    '^tollgate/dcr$': '<rootDir>/src/dcr/index.ts',
    '^tollgate/prometheus$': '<rootDir>/src/prometheus/index.ts',
    '^tollgate/otel$': '<rootDir>/src/otel/index.ts',
    '^tollgate/kong$': '<rootDir>/src/kong/index.ts',
  },
  testTimeout: 20000,
};
