-- The conversation of a job as sent to the model, saved at every turn and tool result: what a job
-- taken over after its runner died continues from, and what the project's next prompt continues.
CREATE TABLE generation_transcripts (
    job_id          text PRIMARY KEY REFERENCES generation_jobs (id),
    -- Which system prompt the messages were sent with (a hash of its blocks).
    system_version  text NOT NULL,
    -- Model turns taken so far, over every attempt.
    turns           integer NOT NULL,
    messages        jsonb NOT NULL,
    -- Sweeps that replaced older tool outputs by a note of their size.
    compactions     integer NOT NULL DEFAULT 0,
    -- How the agent ended, once it has: a job resumed after this only finishes.
    outcome         jsonb,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
