import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  canonicalVigilUrl,
  DEFAULT_FHIR_NAMESPACE,
  fhirNamespaceRewriter,
  LEGACY_DETECT_SYSTEM,
  VigilFhir,
  vigilUrlAliases,
} from './fhir-namespace.ts';

test('every Vigil URL is under the one default namespace', () => {
  for (const [k, url] of Object.entries(VigilFhir))
    assert.ok(url.startsWith(`${DEFAULT_FHIR_NAMESPACE}/`), k);
});

test('legacy bases and the old NEWS2 system map to the one namespace; other URLs stay', () => {
  assert.equal(canonicalVigilUrl('https://vigil.health/fhir/CodeSystem/alert-rule'), VigilFhir.alertRule);
  assert.equal(canonicalVigilUrl('https://vigil.dev/fhir/CodeSystem/quality-flag'), VigilFhir.qualityFlag);
  assert.equal(canonicalVigilUrl(LEGACY_DETECT_SYSTEM), VigilFhir.observation);
  assert.equal(canonicalVigilUrl('http://loinc.org'), 'http://loinc.org');
  assert.deepEqual(vigilUrlAliases('http://loinc.org'), ['http://loinc.org']);
  assert.deepEqual(vigilUrlAliases(VigilFhir.observation), [
    VigilFhir.observation,
    'https://vigil.dev/fhir/CodeSystem/observation',
    'https://vigil.health/fhir/CodeSystem/observation',
    LEGACY_DETECT_SYSTEM,
  ]);
});

test('the rewriter maps only Vigil kinds of URL, both ways, and leaves other text alone', () => {
  const ns = fhirNamespaceRewriter('https://h.example/fhir/');
  assert.equal(ns.namespace, 'https://h.example/fhir');
  const internal = JSON.stringify({
    a: VigilFhir.qualityFlagExt,
    b: LEGACY_DETECT_SYSTEM,
    c: 'https://vigil.health/fhir/StructureDefinition/alert-state',
    d: 'https://vigil.example.org/fhir/Patient/1',
  });
  const out = JSON.parse(ns.outbound(internal));
  assert.deepEqual(out, {
    a: 'https://h.example/fhir/StructureDefinition/quality-flag',
    b: 'https://h.example/fhir/CodeSystem/observation',
    c: 'https://h.example/fhir/StructureDefinition/alert-state',
    d: 'https://vigil.example.org/fhir/Patient/1',
  });
  // the deployment's own FHIR references under the same base are not Vigil URLs
  const body = '{"ref":"https://h.example/fhir/Patient/1","url":"https://h.example/fhir/CodeSystem/tag"}';
  assert.equal(ns.inbound(body), `{"ref":"https://h.example/fhir/Patient/1","url":"${VigilFhir.tag}"}`);
  const same = fhirNamespaceRewriter();
  assert.equal(same.outbound(JSON.stringify(VigilFhir.tag)), JSON.stringify(VigilFhir.tag));
  assert.equal(
    same.inbound('"https://vigil.dev/fhir/sid/simulated-patient"'),
    JSON.stringify(VigilFhir.simulatedPatient),
  );
  assert.equal(same.outbound('plain text'), 'plain text');
});
