-- When a project's generations ask the user before a tool call runs: auto (never), commands, everything.
ALTER TABLE projects ADD COLUMN approval_mode text NOT NULL DEFAULT 'auto' CHECK (approval_mode IN ('auto', 'commands', 'everything'));
