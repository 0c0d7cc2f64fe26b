import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { createClient, type ApiError, type KilnClient } from "./api/client";

const STORAGE_KEY = "kiln.token";

interface Auth {
  token: string | null;
  /** Why the user was signed out (a rejected token), shown on the sign-in page. */
  reason: string | null;
  signIn(token: string): void;
  signOut(reason?: string): void;
  api: KilnClient;
}

const AuthContext = createContext<Auth | null>(null);

function readToken(): string | null {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function AuthProvider({ children, onSignOut }: { children: ReactNode; onSignOut?: () => void }) {
  const [token, setToken] = useState<string | null>(readToken);
  const [reason, setReason] = useState<string | null>(null);

  const signOut = useCallback(
    (why?: string) => {
      window.localStorage.removeItem(STORAGE_KEY);
      setToken(null);
      setReason(why ?? null);
      onSignOut?.();
    },
    [onSignOut],
  );

  const api = useMemo(
    () =>
      createClient({
        baseUrl: import.meta.env.VITE_KILN_API_URL ?? "",
        token: readToken,
        onUnauthenticated: (error: ApiError) => {
          if (readToken()) signOut(`Kiln no longer accepts your token (${error.message}). It may have been revoked: sign in with a valid one.`);
        },
      }),
    [signOut],
  );

  const value = useMemo<Auth>(
    () => ({
      token,
      reason,
      api,
      signIn(next: string) {
        window.localStorage.setItem(STORAGE_KEY, next);
        setToken(next);
        setReason(null);
      },
      signOut,
    }),
    [token, reason, api, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside AuthProvider");
  return auth;
}

export function useApi(): KilnClient {
  return useAuth().api;
}
