import { createCookie } from "react-router";

/**
 * Carries a failed attempt's message from the portal action to the account
 * page, once: the action sets it with its redirect, the page's loader reads
 * and clears it. Signed, so nobody can make the page say something else.
 */
export function createPortalFlash(options: { secrets: string[]; secure: boolean; /** Another page's own message (the organisation pages'). */ name?: string }) {
  const cookie = createCookie(options.name ?? "__portal_flash", {
    httpOnly: true,
    sameSite: "lax",
    path: "/",
    secure: options.secure,
    secrets: options.secrets,
    maxAge: 120,
  });

  return {
    async set(message: string): Promise<string> {
      return cookie.serialize({ message });
    },

    /** The pending message, if any, and the header that clears it. */
    async take(request: Request): Promise<{ message: string | null; headers: Headers }> {
      const value: unknown = await cookie.parse(request.headers.get("Cookie"));
      const message =
        typeof value === "object" && value !== null && "message" in value && typeof value.message === "string"
          ? value.message
          : null;
      const headers = new Headers();
      if (message) headers.append("Set-Cookie", await cookie.serialize("", { maxAge: 0 }));
      return { message, headers };
    },
  };
}

export type PortalFlash = ReturnType<typeof createPortalFlash>;
