/** Words and limits the organisation pages share with the server (importable by pages: no server code). */

/** The longest organisation name. */
export const ORGANIZATION_NAME_MAX = 80;

/** What an invitation link that cannot be accepted says. */
export const INVITATION_MESSAGES = {
  unknown: "This invitation link is not valid. Ask for a new invitation.",
  used: "This invitation was already used.",
  expired: "This invitation has expired. Ask for a new invitation.",
  "other-account":
    "This invitation is for another email address. Sign in with the invited address to accept it.",
} as const;
