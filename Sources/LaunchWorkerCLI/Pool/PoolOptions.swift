import ArgumentParser

/// `serve`'s options for a process pool: how many worker processes one supervisor runs.
/// Every other `serve` option is passed down to each worker process unchanged.
struct PoolOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Run this many worker processes under a supervisor, each with its own interpreter and --per-worker slots (1: one process, no supervisor).",
            valueName: "P"))
    var processes = 1

    func validate() throws {
        guard processes >= 1 else { throw ValidationError("--processes must be at least 1") }
    }

    /// The options of the supervisor's own, which its worker processes do not get, with
    /// whether each takes a value.
    static let supervisorOnly: [String: Bool] = ["--processes": true, "--ready-file": true]
}
