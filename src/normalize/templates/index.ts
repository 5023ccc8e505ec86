/**
 * The mapping templates shipped with Vigil: two examples (labelled as such in each file) and one
 * real vendor format (Withings Getmeas). They are validated when this module loads, so a broken
 * template fails at boot, not on the first payload. Operators create their own through the API
 * (`/api/v1/vendor-templates`, stored in the database); these files are starting points to post there.
 */
import { loadTemplates, type TemplateRegistry, type TemplateSpec } from '../profiles/template.ts';
import homeCuff from './example-home-cuff.json' with { type: 'json' };
import wearable from './example-wearable.json' with { type: 'json' };
import withings from './withings-getmeas.json' with { type: 'json' };

export const EXAMPLE_TEMPLATES: TemplateRegistry = loadTemplates([
  wearable as TemplateSpec,
  homeCuff as TemplateSpec,
]);

/** Real vendor formats, ready to be created through the API. */
export const VENDOR_TEMPLATE_SPECS: readonly TemplateSpec[] = [withings as TemplateSpec];
loadTemplates(VENDOR_TEMPLATE_SPECS); // validated at load, like the examples
