-- FHIR search: the string index keeps each value as written beside the lower-cased one, so
-- `:exact` is case- and accent-sensitive as R4 says. Rows indexed before this have raw null and
-- match `:exact` on the lower-cased value until their resource is next written.
alter table fhir_string add column raw text;
