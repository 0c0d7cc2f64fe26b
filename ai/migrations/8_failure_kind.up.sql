-- What kind of failure ended a job, when the server knows it: 'misconfigured' (the model API refused the
-- server's key, model or account; a service's secret or setting is missing), which no prompt can fix.
ALTER TABLE generation_jobs ADD COLUMN error_kind text;
