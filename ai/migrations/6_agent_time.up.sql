-- Time a job spent with its agent running (its step `generating`), over every attempt: the wall-clock
-- limit counts from the job's first start across resumes, without the time no runner held it.
ALTER TABLE generation_jobs ADD COLUMN agent_ms bigint NOT NULL DEFAULT 0;
