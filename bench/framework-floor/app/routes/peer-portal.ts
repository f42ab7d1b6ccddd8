import { peerPortalAction } from "../peer-portal.server.ts";

export const action = peerPortalAction;
