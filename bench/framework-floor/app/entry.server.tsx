import { renderToString } from "react-dom/server";
import { type EntryContext, ServerRouter } from "react-router";
import { parseConfig } from "../../../app/config/env.server.ts";
import { requestInfoContext } from "../../../app/http/request-info.ts";
import { logger } from "../../../app/observability/log.server.ts";

// The app's server entry (server/main.ts) takes its configuration, context key and logger from the build:
// the floor hands it the same kind, with no services behind them, so it runs on exactly the app's server.
export const serverRuntime = {
  config: parseConfig(process.env),
  requestInfoContext,
  logger,
  startDraining() {},
  stopServices: async () => {},
};

// Only actions answering redirects are measured here: a page, if ever asked for, is rendered in one piece.
export default function handleRequest(request: Request, status: number, headers: Headers, context: EntryContext) {
  const html = renderToString(<ServerRouter context={context} url={request.url} />);
  headers.set("Content-Type", "text/html");
  return new Response(`<!DOCTYPE html>${html}`, { status, headers });
}
