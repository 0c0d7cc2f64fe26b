-- Owners of projects, and the API tokens they authenticate with (only a hash of each token is kept).
CREATE TABLE users (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
