/** The longest project name (the form's maxLength and the server's check). */
export const PROJECT_NAME_MAX = 100;
