-- Bulk exports by integrations leave out patients who refuse sharing (security: consent is
-- enforced wherever data is shared). The purpose whose refusals filter the job's output, checked
-- when the job runs and again when each file is downloaded; null = unfiltered (an admin's export).
alter table fhir_export_job add column consent_filter text;
