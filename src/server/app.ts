import { randomUUID } from 'node:crypto';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { AccessTokenVerifier } from '../auth/index.js';
import type { ResourceStore } from '../store/index.js';
import { installBearerAuth } from './bearer-auth.js';
import { installBodyParsers } from './body-parsers.js';
import { buildCapabilityStatement } from './capability.js';
import type { CapabilityOptions } from './capability.js';
import type { RouteContext, RoutePlugin } from './context.js';
import {
  MAX_HEADER_BYTES,
  clientErrorHandler,
  frameworkErrorHandler,
  installErrorHandling,
} from './error-handler.js';
import { formatParamCheck } from './format-param.js';
import { metadataRoutes } from './routes/metadata.js';
import { restRoutes } from './routes/rest.js';
import { rootRoutes } from './routes/root.js';
import { searchRoutes } from './routes/search.js';

/** Options of {@link buildServer}. */
export interface BuildServerOptions {
  store: ResourceStore;
  /** Absolute http(s) base URL of the FHIR endpoint, as clients reach it. */
  baseUrl: string;
  /** Root logger (a redacting child is made of it); `false` for none; default a pino logger at info. */
  logger?: Logger | false;
  /** Extra route plugins (export, auth...), registered after the built-in routes with the same context. */
  plugins?: readonly RoutePlugin[];
  /** CapabilityStatement extras (instantiates, operations, security...); `baseUrl` comes from above. */
  capability?: Omit<CapabilityOptions, 'baseUrl'>;
  /** Largest request body accepted; default 16 MiB. */
  bodyLimitBytes?: number;
  /** When set, every route but metadata, discovery and the token endpoint needs a bearer token it accepts. */
  auth?: AccessTokenVerifier;
  /** Pages the landing page links besides the CapabilityStatement (the dashboard), path and text. */
  landingLinks?: readonly { path: string; text: string }[];
  /** Serve HTTPS with this PEM certificate chain and key; TLS 1.2 is the minimum (Bulk IG S1). */
  https?: { cert: string | Buffer; key: string | Buffer };
}

const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024 * 1024;
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Secrets that must never reach a log line (STYLE.md "Logging"). */
export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'headers.authorization',
  'client_assertion',
  '*.client_assertion',
  'access_token',
  '*.access_token',
  'credentials',
  '*.credentials',
  'secretAccessKey',
  '*.secretAccessKey',
];
const SECRET_QUERY_RE = /([?&](?:access_token|client_assertion)=)[^&]*/gi;

/**
 * Build the FHIR HTTP server: parsers, request ids, error handling, `/metadata`, REST and search routes,
 * then `options.plugins`. The caller owns `listen` and `close`; closing the server does not close the store.
 * @param options store, base URL and the optional parts listed on {@link BuildServerOptions}
 * @throws TypeError when `baseUrl` is not an absolute http(s) URL
 */
export function buildServer(options: BuildServerOptions): FastifyInstance {
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  // pino's Logger is a FastifyBaseLogger; naming the base type keeps FastifyInstance's default generics.
  const logger: FastifyBaseLogger | undefined =
    options.logger === false ? undefined : redactingLogger(options.logger ?? pino());
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    // fastify logs two info lines per request; one debug line (onResponse below) keeps `info` for
    // what an operator follows: jobs accepted, planned, completed, failed.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => {
      const header = req.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID_RE.test(header) ? header : randomUUID();
    },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    ...(options.https
      ? { https: { ...options.https, minVersion: 'TLSv1.2' as const, maxHeaderSize: MAX_HEADER_BYTES } }
      : { http: { maxHeaderSize: MAX_HEADER_BYTES } }),
  });

  installBodyParsers(app);
  installErrorHandling(app);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug(
      {
        method: request.method,
        url: request.url.replace(SECRET_QUERY_RE, '$1[redacted]'),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  });
  app.addHook('preHandler', formatParamCheck);
  if (options.auth) installBearerAuth(app, options.auth);

  const capability = JSON.stringify(buildCapabilityStatement({ ...options.capability, baseUrl }));
  const context: RouteContext = { store: options.store, baseUrl };
  void app.register(metadataRoutes(capability), context);
  const root = { baseUrl, smart: options.auth !== undefined, links: options.landingLinks ?? [] };
  void app.register(rootRoutes(root), context);
  void app.register(restRoutes, context);
  void app.register(searchRoutes, context);
  for (const plugin of options.plugins ?? []) void app.register(plugin, context);
  return app;
}

function normalizeBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`baseUrl must be an absolute URL, got '${value}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`baseUrl must be http or https, got '${value}'`);
  }
  if (url.search !== '' || url.hash !== '') throw new TypeError(`baseUrl must have no query or fragment`);
  return url.href.replace(/\/+$/, '');
}

function redactingLogger(root: Logger): Logger {
  return root.child(
    {},
    {
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        // fastify's request serializer minus the query values of secrets passed in a URL.
        req: (req: { method?: string; url?: string; ip?: string }) => ({
          method: req.method,
          url: req.url?.replace(SECRET_QUERY_RE, '$1[redacted]'),
          remoteAddress: req.ip,
        }),
      },
    },
  );
}
