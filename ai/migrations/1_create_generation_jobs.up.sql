-- Generation jobs: one prompt on one project, run by the durable runner.
CREATE TABLE generation_jobs (
    id          text PRIMARY KEY,
    project_id  text NOT NULL,
    owner_id    text NOT NULL,
    prompt      text NOT NULL,
    status      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX generation_jobs_project_idx ON generation_jobs (project_id, created_at DESC);
