// Per-protocol knowledge, one file per protocol: error classifiers for execute() and the servers' error tables.
export { classifyHttp, parseRetryAfter } from './http.js';
export { classifyMysql } from './mysql.js';
export { classifyPostgres } from './postgres.js';
export { classifyRedis } from './redis.js';
