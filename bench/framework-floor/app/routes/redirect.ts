import { redirect } from "react-router";

export const action = () => redirect("/done", 303);
