import { createContext, useContext, useMemo, useState } from "react";

/** What the rest of the project page can ask of its code view. */
export interface CodeView {
  /** Shows the Code tab with `path` open (a Write or Edit card's file). */
  openFile(path: string): void;
}

/** A request to open a file; `seq` makes asking twice for the same path open it again. */
export interface OpenRequest {
  path: string;
  seq: number;
}

/** The project page's code view; null outside a project page (a card rendered elsewhere offers no link). */
export const CodeViewContext = createContext<CodeView | null>(null);

/** The code view a component may open files in, or null where there is none. */
export function useCodeView(): CodeView | null {
  return useContext(CodeViewContext);
}

/**
 * For the page that holds the code view: the value to provide as {@link CodeViewContext} (its
 * `openFile` calls `show`, which should switch to the Code tab) and the latest request, for FileBrowser.
 */
export function useCodeViewRequests(show: () => void): { view: CodeView; request: OpenRequest | null } {
  const [request, setRequest] = useState<OpenRequest | null>(null);
  const view = useMemo<CodeView>(
    () => ({
      openFile(path) {
        show();
        setRequest((last) => ({ path, seq: (last?.seq ?? 0) + 1 }));
      },
    }),
    [show],
  );
  return { view, request };
}
