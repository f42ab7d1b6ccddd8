/** The `postgres` project runs the database tests on a PostgreSQL server: without one it would repeat the embedded pass. */
export default function setup() {
  if (!process.env.TEST_DATABASE_URL) {
    throw new Error("The postgres project needs TEST_DATABASE_URL (for example postgres://postgres@127.0.0.1:5432/postgres): npm run test:postgres.");
  }
}
