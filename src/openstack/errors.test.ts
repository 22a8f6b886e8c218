import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OskError } from '../errors.js';
import { OpenStackApiError, parseErrorBody } from './errors.js';

const JSON_TYPE = 'application/json';

test('nova and cinder faults: one key naming the kind', () => {
  assert.deepEqual(
    parseErrorBody('{"itemNotFound": {"code": 404, "message": "Flavor m1.huge could not be found."}}', JSON_TYPE),
    {
      message: 'Flavor m1.huge could not be found.',
      errorType: 'itemNotFound',
    },
  );
  assert.deepEqual(
    parseErrorBody(
      '{"conflictingRequest": {"code": 409, "message": "Cannot \'attach_volume\' instance x while it is in vm_state building"}}',
      JSON_TYPE,
    ),
    {
      message: "Cannot 'attach_volume' instance x while it is in vm_state building",
      errorType: 'conflictingRequest',
    },
  );
});

test('neutron: NeutronError with type, message and detail', () => {
  assert.deepEqual(
    parseErrorBody(
      '{"NeutronError": {"type": "SecurityGroupRuleExists", "message": "Security group rule already exists. Rule id is 0c8c0dc2-3d4c-4a53-8f6b-2a0e3c9b8d11.", "detail": ""}}',
      JSON_TYPE,
    ),
    {
      message: 'Security group rule already exists. Rule id is 0c8c0dc2-3d4c-4a53-8f6b-2a0e3c9b8d11.',
      errorType: 'SecurityGroupRuleExists',
    },
  );
  assert.equal(
    parseErrorBody('{"NeutronError": {"type": "X", "message": "Bad.", "detail": "more"}}', JSON_TYPE).message,
    'Bad. (more)',
  );
});

test('keystone: error with code, title, message', () => {
  assert.deepEqual(
    parseErrorBody(
      '{"error": {"code": 409, "title": "Conflict", "message": "Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : admin."}}',
      JSON_TYPE,
    ),
    {
      message:
        'Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : admin.',
      errorType: 'Conflict',
    },
  );
});

test('placement: errors list with detail and request id', () => {
  const body = JSON.stringify({
    errors: [
      {
        status: 409,
        title: 'Conflict',
        detail:
          'There was a conflict when trying to complete your request.\n\n resource provider generation conflict  ',
        code: 'placement.concurrent_update',
        request_id: 'req-9',
      },
    ],
  });
  assert.deepEqual(parseErrorBody(body, JSON_TYPE), {
    message: 'There was a conflict when trying to complete your request. resource provider generation conflict',
    requestId: 'req-9',
  });
});

test('glance and proxies: text and HTML, with a repeated status line dropped', () => {
  assert.equal(
    parseErrorBody('404 Not Found\n\nNo image found with ID 7c1a\n\n   ', 'text/plain; charset=UTF-8').message,
    'No image found with ID 7c1a',
  );
  assert.equal(
    parseErrorBody(
      '<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1>The server is temporarily unable to service your request.</body></html>',
      'text/html',
    ).message,
    'Service Unavailable The server is temporarily unable to service your request.',
  );
  assert.equal(
    parseErrorBody(
      '{"code": "403 Forbidden", "title": "Forbidden", "message": "Image 7c1a is protected and cannot be deleted."}',
      JSON_TYPE,
    ).message,
    'Image 7c1a is protected and cannot be deleted.',
  );
  assert.equal(parseErrorBody('', null).message, '');
  // Claims JSON but is not: the text is still shown.
  assert.equal(parseErrorBody('Internal Server Error', JSON_TYPE).message, 'Internal Server Error');
});

test('very long messages are clipped', () => {
  assert.equal(parseErrorBody('x'.repeat(5000), 'text/plain').message.length, 600);
});

test('OpenStackApiError reads as one sentence and is an OskError with a hint where one helps', () => {
  const e = new OpenStackApiError({
    service: 'compute',
    method: 'POST',
    path: '/servers',
    status: 400,
    statusText: 'Bad Request',
    serverMessage: 'Invalid flavorRef provided.',
    requestId: 'req-1',
  });
  assert.ok(e instanceof OskError);
  assert.equal(
    e.message,
    'compute: POST /servers failed: 400 Bad Request: Invalid flavorRef provided. (request req-1)',
  );
  assert.equal(e.hint, undefined);
  assert.equal(e.exitCode, 1);
  const f = new OpenStackApiError({
    service: 'network',
    method: 'GET',
    path: '/agents',
    status: 403,
    statusText: 'Forbidden',
    serverMessage: '',
  });
  assert.equal(f.message, 'network: GET /agents failed: 403 Forbidden');
  assert.match(f.hint!, /role/);
});
