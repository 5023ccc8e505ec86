import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidScope, scopeAllows, scopeCovered } from './scopes.ts';

test('SMART v1 and v2 system scopes', () => {
  assert.equal(scopeAllows(['system/Observation.read'], 'Observation', 'read'), true);
  assert.equal(scopeAllows(['system/Observation.read'], 'Observation', 'write'), false);
  assert.equal(scopeAllows(['system/Observation.read'], 'Patient', 'read'), false);
  assert.equal(scopeAllows(['system/*.read'], 'Patient', 'read'), true);
  assert.equal(scopeAllows(['system/*.*'], 'Patient', 'write'), true);
  assert.equal(scopeAllows(['system/Observation.rs'], 'Observation', 'read'), true);
  assert.equal(scopeAllows(['system/Observation.rs'], 'Observation', 'write'), false);
  assert.equal(scopeAllows(['system/Observation.cud'], 'Observation', 'write'), true);
  assert.equal(scopeAllows(['patient/*.read', 'openid'], 'Observation', 'read'), false);
  assert.equal(isValidScope('system/Observation.read'), true);
  assert.equal(isValidScope('system/observation.read'), false);
  assert.equal(isValidScope('user/*.read'), false);
  assert.equal(scopeCovered(['system/*.read'], 'system/Observation.read'), true);
  assert.equal(scopeCovered(['system/Observation.read'], 'system/*.read'), false);
  assert.equal(scopeCovered(['system/*.read'], 'system/Observation.write'), false);
});
