import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ATTACHMENT_TYPES,
  hasRelativeUrl,
  resolveAttachments,
  resolveAttachmentUrl,
} from '../../src/fhir/index.js';
import type { FhirResource } from '../../src/fhir/index.js';

const BASE = 'http://host:8080';

describe('resolveAttachmentUrl', () => {
  test('resolves a relative reference against the base URL and a slash', () => {
    assert.equal(resolveAttachmentUrl('Binary/123', BASE), 'http://host:8080/Binary/123');
    assert.equal(resolveAttachmentUrl('Binary/123', `${BASE}/`), 'http://host:8080/Binary/123');
    assert.equal(resolveAttachmentUrl('Binary/1', 'https://h/fhir/r4'), 'https://h/fhir/r4/Binary/1');
  });

  test('resolves an absolute path against the authority of the base, as RFC 3986 does', () => {
    assert.equal(resolveAttachmentUrl('/attachments/x.pdf', BASE), 'http://host:8080/attachments/x.pdf');
    assert.equal(resolveAttachmentUrl('/a/x.pdf', 'https://h/fhir/r4'), 'https://h/a/x.pdf');
  });

  test('keeps absolute URLs of any scheme, empty values and fragments', () => {
    for (const url of [
      'https://other.example/x.pdf',
      'data:text/plain;base64,aGk=',
      'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0',
      'ftp://files/x',
      'mailto:a@b',
      '',
      '#part',
    ])
      assert.equal(resolveAttachmentUrl(url, BASE), url);
  });
});

describe('resolveAttachments', () => {
  test('resolves Attachment urls at every generated path and leaves extension urls', () => {
    const doc = {
      resourceType: 'DocumentReference',
      id: 'd1',
      extension: [{ url: 'local-extension', valueString: 'x' }],
      content: [
        { attachment: { url: 'Binary/b1', extension: [{ url: 'ext', valueString: 'y' }] } },
        { attachment: { url: 'https://elsewhere/x' } },
      ],
    } as unknown as FhirResource;
    assert.equal(resolveAttachments(doc, BASE), true);
    assert.deepEqual(doc, {
      resourceType: 'DocumentReference',
      id: 'd1',
      extension: [{ url: 'local-extension', valueString: 'x' }],
      content: [
        { attachment: { url: 'http://host:8080/Binary/b1', extension: [{ url: 'ext', valueString: 'y' }] } },
        { attachment: { url: 'https://elsewhere/x' } },
      ],
    });
  });

  test('follows recursive backbone elements (QuestionnaireResponse.item.answer.item)', () => {
    const qr = {
      resourceType: 'QuestionnaireResponse',
      item: [{ item: [{ answer: [{ item: [{ answer: [{ valueAttachment: { url: 'Binary/q' } }] }] }] }] }],
    } as unknown as FhirResource;
    assert.equal(resolveAttachments(qr, BASE), true);
    assert.match(JSON.stringify(qr), /"url":"http:\/\/host:8080\/Binary\/q"/);
  });

  test('reports no change for types without Attachments and for absolute urls', () => {
    const obs = { resourceType: 'Observation', valueString: 'x' } as unknown as FhirResource;
    assert.equal(resolveAttachments(obs, BASE), false);
    const p = {
      resourceType: 'Patient',
      photo: [{ url: 'data:image/png;base64,AA==' }],
    } as unknown as FhirResource;
    assert.equal(resolveAttachments(p, BASE), false);
  });

  test('the generated list covers the resource types that carry documents and photos', () => {
    for (const type of [
      'DocumentReference',
      'DiagnosticReport',
      'Media',
      'Communication',
      'CommunicationRequest',
      'Patient',
      'Practitioner',
      'RelatedPerson',
      'Person',
      'Consent',
      'Contract',
      'QuestionnaireResponse',
    ])
      assert.ok(ATTACHMENT_TYPES.has(type), type);
    assert.equal(ATTACHMENT_TYPES.has('Observation'), false, 'R4 Observation.value[x] has no Attachment');
  });
});

describe('hasRelativeUrl', () => {
  test('finds a url value without a scheme, in bytes and in text', () => {
    const relative = '{"photo":[{"url":"Binary/1"}]}';
    assert.equal(hasRelativeUrl(relative), true);
    assert.equal(hasRelativeUrl(Buffer.from(relative)), true);
    assert.equal(hasRelativeUrl('{"url":"/x.pdf"}'), true);
  });

  test('passes over absolute urls and text without urls', () => {
    assert.equal(hasRelativeUrl('{"url":"http://a/b","x":{"url":"urn:oid:1.2"}}'), false);
    assert.equal(hasRelativeUrl(Buffer.from('{"url":"data:,x"}')), false);
    assert.equal(hasRelativeUrl('{"id":"p1"}'), false);
  });

  test('looks only between start and end', () => {
    const bytes = Buffer.from('{"url":"http://a"}\n{"url":"Binary/1"}\n');
    assert.equal(hasRelativeUrl(bytes, 0, 18), false);
    assert.equal(hasRelativeUrl(bytes, 19, bytes.length), true);
  });
});
