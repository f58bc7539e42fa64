import type { FastifyRequest } from 'fastify';
import { operationOutcome } from '../../fhir/index.js';
import type { RoutePlugin } from '../context.js';
import { FHIR_JSON } from '../error-handler.js';
import { refuseOtherMethods } from './method-not-allowed.js';

/** Options of {@link rootRoutes}. */
export interface RootOptions {
  /** The server's absolute base URL, without a trailing slash. */
  baseUrl: string;
  /** `/.well-known/smart-configuration` is served (authorization is on). */
  smart: boolean;
  /** More pages to link, such as the dashboard: a path under the base URL and its text. */
  links?: readonly { path: string; text: string }[];
}

const IG_URL = 'https://hl7.org/fhir/uv/bulkdata/';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A small page for people who open the base URL in a browser: what this is, and where to go. */
function rootPage({ baseUrl, smart, links = [] }: RootOptions): string {
  const link = (path: string, text: string): string =>
    `<li><a href="${escapeHtml(baseUrl + path)}">${escapeHtml(text)}</a></li>`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"><title>fhirhose FHIR server</title></head><body>',
    '<h1>fhirhose</h1>',
    `<p>A FHIR R4 server with <a href="${IG_URL}">Bulk Data Access</a> export, at ${escapeHtml(baseUrl)}.`,
    ' It answers FHIR JSON to API clients.</p>',
    '<ul>',
    link('/metadata', 'CapabilityStatement (/metadata)'),
    ...(smart ? [link('/.well-known/smart-configuration', 'SMART configuration')] : []),
    ...links.map((l) => link(l.path, l.text)),
    '</ul>',
    '<p>Documentation: the fhirhose README and its docs/ folder (export.md, config.md, errors.md).</p>',
    '</body></html>',
    '',
  ].join('\n');
}

/** A browser asks for HTML and for no JSON type; FHIR clients (and anything else) get FHIR JSON. */
function wantsHtml(request: FastifyRequest): boolean {
  const accept = (request.headers.accept ?? '').toLowerCase();
  return accept.includes('text/html') && !accept.includes('json');
}

/**
 * `GET [base]/`: no FHIR interaction lives here, so people get a page that links the
 * CapabilityStatement and the SMART configuration, and API clients an informational OperationOutcome
 * pointing to `/metadata`. Public, like `/metadata`.
 */
export function rootRoutes(options: RootOptions): RoutePlugin {
  const html = rootPage(options);
  const outcome = JSON.stringify(
    operationOutcome(
      'information',
      'informational',
      `fhirhose FHIR R4 server with Bulk Data export; see the CapabilityStatement at ${options.baseUrl}/metadata`,
    ),
  );
  return async (app) => {
    app.get('/', async (request, reply) => {
      reply.header('vary', 'Accept');
      if (wantsHtml(request)) return reply.type('text/html; charset=utf-8').send(html);
      return reply.type(FHIR_JSON).send(outcome);
    });
    refuseOtherMethods(app, '/', ['GET']);
  };
}
