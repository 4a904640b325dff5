// JSONBytes: JSON read and written as bytes, for the paths every task takes.
//
// A request's body is checked whole (`JSONValidator`) and then read member by member
// (`RawJSON.Object`) without building a tree; answers are written by hand (`JSONText`). Foundation's
// `JSONSerialization` and `JSONDecoder` are not used on these paths for two reasons:
// - they re-encode what they parse, so `args` would no longer reach predict as the producer wrote
//   them (`1.0` would become `1`, big integers would lose digits);
// - building a dictionary of `Any` per request, and the encoders per answer, were up to 15% of a
//   busy worker's samples for a trivial predict (BENCHMARKS.md, benchmarks/NOTES.md).
// Rare paths (Celery's STARTED state, exception payloads, the command line) still use Foundation.
