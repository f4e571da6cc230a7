/**
 * Whether error messages carry their full texts (the `#texts` import): true in
 * Node, in development builds and with any bundler that does not set the
 * `production` condition. A page's production build takes
 * `browser/texts-off.ts` instead, and its bundler folds every
 * `ERROR_TEXTS ? \`text\` : [values]` to the values.
 */
export const ERROR_TEXTS: boolean = true;
