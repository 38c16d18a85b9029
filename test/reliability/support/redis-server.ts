/**
 * The reliability suite's own redis-servers (test/support/redis-server.ts). The suite runs on
 * Redis >= 7 (.ci/run installs one), so its servers allow DEBUG SLEEP.
 */
export { DEBUG_COMMANDS, OwnRedis, redisCommand } from '../../support/redis-server';
