-- The ai service's version of a project's status (ai/jobs/project-state.ts): a status told with an older
-- version than the one recorded (a late retry) is ignored, so the latest generation's state wins.
ALTER TABLE projects ADD COLUMN status_version bigint NOT NULL DEFAULT 0;
