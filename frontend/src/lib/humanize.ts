import { isApiError } from "../api/client";

/** An error as a person reads it: what happened, and what to do next. */
export interface HumanError {
  title: string;
  detail: string;
  action: string;
}

/** Turns any thrown value into words and a next step (`context` says what was being done). */
export function humanize(error: unknown, context = "That"): HumanError {
  if (!isApiError(error)) {
    const detail = error instanceof Error ? error.message : String(error);
    return { title: `${context} did not work`, detail, action: "Try again. If it keeps happening, reload the page." };
  }
  if (error.status === 0 && error.code === "canceled") return { title: `${context} was interrupted`, detail: error.message, action: "Try again." };
  if (error.status === 0) {
    return {
      title: "Kiln's server cannot be reached",
      detail: "The request never got an answer: the server may be stopped, or your network is down.",
      action: "Check that the server is running (npm start or npm run demo) and your connection works, then try again.",
    };
  }
  switch (error.code) {
    case "unauthenticated":
      return { title: "Your token was not accepted", detail: error.message, action: "Sign in again with a valid token (create one with npm run token -- create)." };
    case "permission_denied":
      return { title: "You are not allowed to do that", detail: error.message, action: "Ask the owner of this project, or sign in with another token." };
    case "not_found":
      return { title: "Not found", detail: error.message, action: "It may have been deleted. Go back to your projects and pick another one." };
    case "already_exists":
    case "aborted":
      return { title: "That conflicts with something in progress", detail: error.message, action: "A generation may already be running on this project: wait for it to finish or cancel it, then try again." };
    case "invalid_argument":
    case "failed_precondition":
    case "out_of_range":
      return { title: "Kiln could not accept that", detail: error.message, action: "Correct the highlighted input and send it again." };
    case "resource_exhausted":
      return { title: "A limit was reached", detail: error.message, action: "Make the request smaller, or wait a moment and try again." };
    case "unavailable":
      return { title: "A service Kiln needs is unavailable", detail: error.message, action: "Wait a moment and try again; the server's /healthz page shows which dependency is down." };
    case "deadline_exceeded":
      return { title: "The server took too long", detail: error.message, action: "Try again in a moment." };
    case "unimplemented":
      return { title: "This server does not support that yet", detail: error.message, action: "Update Kiln, or use another way to do it." };
    default:
      return { title: "Something went wrong on the server", detail: error.message, action: "Try again. If it keeps happening, the server's log has the details." };
  }
}
