-- A tool call waiting for the user's decision before it runs (approval mode): the call, exactly what
-- was shown, the answer and who gave it. One per tool call of a job; what a resumed job waits for.
CREATE TABLE generation_approvals (
    id           text PRIMARY KEY,
    job_id       text NOT NULL REFERENCES generation_jobs (id),
    project_id   text NOT NULL,
    tool_use_id  text NOT NULL,
    tool         text NOT NULL,
    input        jsonb NOT NULL,
    subject      jsonb NOT NULL,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'timed_out', 'cancelled')),
    reason       text,
    always_allow boolean NOT NULL DEFAULT false,
    answered_by  text,
    answered_at  timestamptz,
    deadline     timestamptz NOT NULL,
    -- When the runner began the approved call: set once, so it runs at most once.
    executed_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (job_id, tool_use_id)
);

-- "Always allow this command in this project": the exact command string, nothing wider.
CREATE TABLE approval_allow_rules (
    project_id  text NOT NULL,
    command     text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, command)
);
