/** The reviewed-by-hand inputs of the safety file (docs/safety/); the generator renders them. */

/** A test that shows a control: the test file and the name given to `it`/`test`/`describe` in it. */
export interface TestRef {
  file: string;
  name: string;
}

export interface Control {
  /** What the control does, in one sentence. */
  what: string;
  /** The files that implement it. */
  code: string[];
  /** The tests that show it works. Empty only with `untested` saying why. */
  tests: TestRef[];
  untested?: string;
}

export interface Hazard {
  id: string;
  title: string;
  /** The sequence of events from the hazard to the situation in which someone is exposed. */
  situation: string;
  harm: string;
  /** Qualitative severity of the harm (ISO 14971 leaves the scale to the manufacturer). */
  severity: 'catastrophic' | 'critical' | 'serious' | 'minor';
  causes: string[];
  controls: Control[];
  /** What remains after the controls, and what is left to the deploying organisation. */
  residual: string;
}

export interface Requirement {
  id: string;
  text: string;
  /** The doc that specifies it in detail. */
  doc: string;
  tests: TestRef[];
}

export interface Anomaly {
  id: string;
  text: string;
  /** The hazard it bears on. */
  hazard: string;
  /** The doc that describes the behaviour concerned. */
  doc: string;
}
