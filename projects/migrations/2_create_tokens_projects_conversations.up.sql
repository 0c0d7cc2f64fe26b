-- API tokens: only a sha256 of each token is kept, with a short prefix for display.
CREATE TABLE api_tokens (
    id            text PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users (id),
    name          text NOT NULL,
    prefix        text NOT NULL,
    token_hash    text NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, created_at DESC);

-- A project: what the dashboard shows as a card, from one row.
CREATE TABLE projects (
    id             text PRIMARY KEY,
    owner_id       text NOT NULL REFERENCES users (id),
    name           text NOT NULL,
    description    text NOT NULL DEFAULT '',
    status         text NOT NULL DEFAULT 'new',
    workspace_id   text,
    preview_url    text,
    latest_job_id  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz
);
CREATE INDEX projects_owner_idx ON projects (owner_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- A project's conversation: the user's prompts and the agent's final summaries, in order.
CREATE TABLE conversation_messages (
    project_id  text NOT NULL REFERENCES projects (id),
    seq         integer NOT NULL,
    role        text NOT NULL CHECK (role IN ('user', 'assistant')),
    content     text NOT NULL,
    job_id      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, seq)
);
