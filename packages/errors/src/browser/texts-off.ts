/**
 * A page's production build (the `browser` and `production` conditions of the
 * `#texts` import): error messages leave their texts out and carry their code
 * and values (see `../texts.ts`).
 */
export const ERROR_TEXTS: boolean = false;
