/**
 * The mapping templates shipped with Vigil (examples, labelled as such in each file). They are
 * validated when this module loads, so a broken template fails at boot, not on the first payload.
 * Operators add their own with loadTemplates() at the composition root.
 */
import { loadTemplates, type TemplateRegistry, type TemplateSpec } from '../profiles/template.ts';
import homeCuff from './example-home-cuff.json' with { type: 'json' };
import wearable from './example-wearable.json' with { type: 'json' };

export const EXAMPLE_TEMPLATES: TemplateRegistry = loadTemplates([
  wearable as TemplateSpec,
  homeCuff as TemplateSpec,
]);
