/**
 * URLs an attacker would put in `returnUrl` or `redirectTo` to make the app
 * send a browser elsewhere, for an app served at `appOrigin`. Shared by the
 * policy's unit test and the live suite, so both doors are tried with the
 * same list. Each one must be refused by both.
 */
export function hostileUrls(appOrigin: string): string[] {
  const app = new URL(appOrigin);
  const host = app.host; // with the port, as in `localhost:5400`
  const otherScheme = app.protocol === "https:" ? "http:" : "https:";
  return [
    // Protocol-relative and its spellings.
    "//evil.test",
    "//evil.test/account",
    "///evil.test",
    "////evil.test",
    "/\\evil.test",
    "\\/evil.test",
    "\\\\evil.test",
    "/\\/evil.test",
    "/account\\..\\..\\evil.test",
    " //evil.test",
    "//evil.test\\@" + host,
    // The same, percent-encoded once, twice, three times.
    "/%2f%2fevil.test",
    "/%2F%2Fevil.test",
    "/%2fevil.test",
    "/%5cevil.test",
    "/%5Cevil.test",
    "/%5c%5cevil.test",
    "/%252f%252fevil.test",
    "/%252F%252Fevil.test",
    "/%25252f%25252fevil.test",
    "/%255cevil.test",
    "%2f%2fevil.test",
    "/%2e%2e//evil.test",
    // Dot segments that climb to `//host`.
    "/.//evil.test",
    "/..//evil.test",
    "/a/..//evil.test",
    "/././/evil.test",
    // Characters browsers drop or that end a header.
    "/\t/evil.test",
    "/\n/evil.test",
    "/\r/evil.test",
    "\t//evil.test",
    "/account\r\nSet-Cookie: x=1",
    "/account%0d%0aSet-Cookie:%20x=1",
    "/account%0D%0ALocation:%20https://evil.test",
    "/%09/evil.test",
    "/%0a/evil.test",
    "/account\u0000",
    "/%00//evil.test",
    "/\u007f/evil.test",
    "/account%E0%A4%A",
    // Other hosts, schemes and credentials.
    "http://evil.test",
    "https://evil.test/account",
    "HTTPS://EVIL.TEST/",
    "http:evil.test",
    "https:evil.test",
    "https:/evil.test",
    "http:\\\\evil.test",
    `${appOrigin}@evil.test`,
    `${appOrigin}.evil.test/`,
    `https://evil.test/?${appOrigin}`,
    `https://evil.test#${appOrigin}`,
    `${app.protocol}//user:pass@${host}/account`,
    `${app.protocol}//user@${host}/account`,
    `${otherScheme}//${host}/account`,
    `${app.protocol}//${app.hostname}:1/account`,
    `${appOrigin}//evil.test`,
    `${appOrigin}/%2f%2fevil.test`,
    `${appOrigin}/.//evil.test`,
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "java\tscript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://evil.test/",
    "blob:https://evil.test/1",
    // Look-alikes, IDN and address hosts.
    "/\uff0fevil.test",
    "/\u2215evil.test",
    "/\u2028/evil.test",
    "/\u3002evil.test",
    "https://\u0430pp.test/",
    "https://xn--pple-43d.com/",
    "https://evil\u3002test/",
    "http://[::1]/",
    `http://[::ffff:127.0.0.1]:${app.port || "80"}/account`,
    "http://2130706433/",
    "http://0x7f.0.0.1/",
    // Not paths at all.
    "",
    " ",
    " /account",
    "/account ",
    "account",
    "./account",
    "../account",
    "evil.test",
    "evil.test/account",
    `/${"a".repeat(3000)}`,
    `/${"%2f".repeat(1000)}evil.test`,
  ];
}

/** Paths and URLs the app itself would use: both doors must accept them. */
export function legitimatePaths(): string[] {
  return [
    "/account",
    "/",
    "/account?tab=billing",
    "/account?tab=billing#invoices",
    "/account#top",
    "/billing/portal?returnUrl=%2Faccount",
    "/search?q=caf%C3%A9",
    "/a/b/../c",
    "/account?next=//not-a-host-here",
  ];
}
