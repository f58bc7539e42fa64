import type { FastifyPluginAsync } from 'fastify';
import type { ResourceStore } from '../store/index.js';

/** What every route plugin receives as its options. */
export interface RouteContext {
  store: ResourceStore;
  /** The server's absolute base URL, without a trailing slash: every link is built from it, never from Host. */
  baseUrl: string;
}

/**
 * A route plugin: registered by `buildServer` after the shared parsers, hooks and error handler,
 * so it inherits them. Export routes (`routes/export-*.ts`) are plugins of this shape.
 */
export type RoutePlugin = FastifyPluginAsync<RouteContext>;
