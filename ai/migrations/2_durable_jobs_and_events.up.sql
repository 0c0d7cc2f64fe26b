-- What the durable runner needs: the step a job is at, its lease, its outcome and its usage.
ALTER TABLE generation_jobs
    ADD COLUMN step              text NOT NULL DEFAULT 'queued',
    ADD COLUMN progress          integer NOT NULL DEFAULT 0,
    ADD COLUMN attempt           integer NOT NULL DEFAULT 0,
    ADD COLUMN lease_owner       text,
    ADD COLUMN lease_expires_at  timestamptz,
    ADD COLUMN cancel_requested  boolean NOT NULL DEFAULT false,
    ADD COLUMN error             text,
    ADD COLUMN summary           text,
    ADD COLUMN preview_url       text,
    ADD COLUMN workspace_id      text,
    ADD COLUMN input_tokens      bigint NOT NULL DEFAULT 0,
    ADD COLUMN output_tokens     bigint NOT NULL DEFAULT 0,
    ADD COLUMN cache_read_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN cache_write_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN tool_calls        integer NOT NULL DEFAULT 0,
    ADD COLUMN last_seq          integer NOT NULL DEFAULT 0,
    ADD COLUMN started_at        timestamptz,
    ADD COLUMN finished_at       timestamptz;

-- One active job per project.
CREATE UNIQUE INDEX generation_jobs_one_active_idx ON generation_jobs (project_id) WHERE status IN ('queued', 'running');
CREATE INDEX generation_jobs_claim_idx ON generation_jobs (status, created_at);

-- Every step of a job, in order: what the event stream replays.
CREATE TABLE generation_events (
    job_id      text NOT NULL REFERENCES generation_jobs (id),
    seq         integer NOT NULL,
    type        text NOT NULL,
    data        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, seq)
);
