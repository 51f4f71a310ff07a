import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as undici from 'undici';
import { Agent, errors } from '../src/model/undici.js';

// src/model/undici.ts loads two files inside undici (start-up time); they must stay the package's own.
test('the Agent and errors the adapters use are undici\'s own', () => {
  assert.equal(Agent, undici.Agent);
  assert.equal(errors, undici.errors);
  for (const name of ['RequestAbortedError', 'HeadersTimeoutError', 'BodyTimeoutError', 'ConnectTimeoutError'] as const) {
    assert.equal(typeof errors[name], 'function', name);
  }
});
