-- The long-running processes a job's agent started (execute_command in the background), recorded before
-- the tool answers: a runner that takes the job over starts again those the restart stopped.
ALTER TABLE generation_jobs ADD COLUMN processes jsonb NOT NULL DEFAULT '[]';
