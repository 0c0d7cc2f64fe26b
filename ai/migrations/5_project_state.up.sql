-- A project's status and latest job follow from its generations (ai/jobs/project-state.ts). Every job
-- transition that changes them takes the next state_version in the same statement; synced_version is
-- the one the projects service was told. A runner that died between the two leaves a job with
-- synced_version < state_version, which the sweep tells the projects service again.
CREATE SEQUENCE generation_state_versions;
ALTER TABLE generation_jobs
    ADD COLUMN state_version  bigint NOT NULL DEFAULT 0,
    ADD COLUMN synced_version bigint NOT NULL DEFAULT 0;
CREATE INDEX generation_jobs_unsynced_idx ON generation_jobs (updated_at) WHERE synced_version < state_version;

-- The preview URL has one owner, the project's row (projects service): a generation's `previewUrl` is
-- read from it. The URL each job completed with stays in its `completed` event.
ALTER TABLE generation_jobs DROP COLUMN preview_url;
