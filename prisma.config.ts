import { defineConfig } from "prisma/config";

// The app never reads this file: it opens its own database (app/db/). The
// Prisma CLI does, for `prisma generate` and, on a machine with internet,
// `prisma migrate deploy` against DATABASE_URL.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/billing_portal" },
});
