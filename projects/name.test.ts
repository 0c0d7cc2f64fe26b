import { describe, expect, it } from "vitest";
import { nameFromPrompt } from "./name";

describe("a project name derived from its first prompt", () => {
  it.each([
    ["Build me a todo list with dark mode. It should save to localStorage.", "Todo list with dark mode"],
    ["A landing page for my bakery", "Landing page for my bakery"],
    ["please create a simple weather dashboard, with charts", "Weather dashboard, with charts"],
    ["I want to make an app where my team votes on lunch places every Friday", "App where my team votes on"],
    ["Kanban board\nwith three columns", "Kanban board"],
    ["Supercalifragilisticexpialidocious extraordinarily long words here", "Supercalifragilisticexpialidocious…"],
    ["Build me a", "Untitled project"],
    ["   ", "Untitled project"],
    ["<marquee>Retro</marquee> guestbook", "Retro guestbook"],
  ])("%j → %j", (prompt, name) => {
    expect(nameFromPrompt(prompt)).toEqual(name);
  });

  it("cuts a long first sentence at a word, never past 50 characters", () => {
    expect(nameFromPrompt("word ".repeat(3) + "x".repeat(200))).toBe("Word word word…");
  });
});
