// `@xppg/framing/adapter`: what the xppg packages' own send paths use of the codec's insides. Not for
// applications: these trust their caller for what the codec checks itself (the README says what each needs).
/**
 * A direct message of raw bytes in the compact layout, by a short path
 * (`EnvelopeCodec.encodeFieldsInto` writes the same bytes); in Node only (in
 * a page it returns 0). The caller must have checked that the link settled
 * `lean/1` and that the message goes from its one end to the other, with
 * hop limit 0 and no signature.
 */
export { writeLeanBytes } from "#lean";
